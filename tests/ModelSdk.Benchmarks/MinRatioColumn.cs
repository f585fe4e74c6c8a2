using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// The ratio of this method's fastest iteration to the baseline's fastest. Load from other processes
    /// only ever adds time, so the fastest of 60 iterations is the least disturbed estimate of each
    /// method's cost; on this shared VM this ratio repeats within ~1% from run to run, where the
    /// mean-based Ratio column can swing by 20% or more. Each iteration already averages thousands
    /// of calls (0.1 s), so the minimum is not one lucky call.
    /// </summary>
    public sealed class MinRatioColumn : IColumn
    {
        public string Id => nameof(MinRatioColumn);

        public string ColumnName => "Ratio (min)";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Baseline;

        public int PriorityInCategory => 10;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Fastest iteration / the baseline's fastest iteration (the ratio least disturbed by other load)";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            BenchmarkCase? baseline = summary.GetBaseline(summary.GetLogicalGroupKey(benchmarkCase));
            double? current = summary[benchmarkCase]?.ResultStatistics?.Min;
            double? reference = baseline is null ? null : summary[baseline]?.ResultStatistics?.Min;
            return current is double c && reference is double r && r > 0 ? (c / r).ToString("0.00", CultureInfo.InvariantCulture) : "?";
        }

        public bool IsAvailable(Summary summary) => summary.HasBaselines();

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
