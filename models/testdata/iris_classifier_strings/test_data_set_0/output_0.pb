2	virginica2	virginica2setosa2setosa2
versicolorBoutput_label