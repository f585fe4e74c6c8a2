
BprobabilitiesJ(ü®ª<…Ê3a[x?Ñ¦<bFÂ2ÂÓ05æú€5›¼ü7‚ò§5×ÆË8