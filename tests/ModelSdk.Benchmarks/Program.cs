// Issues 3, 4 and 5's figures: ModelSdk and its baselines, one benchmark class per scenario, all in one run.
//   dotnet run -c Release --project tests/ModelSdk.Benchmarks -- --filter '*'
// Queue throughput in paired rounds (issue 4), and any scenario's ratios in paired rounds:
//   dotnet run -c Release --project tests/ModelSdk.Benchmarks -- throughput
//   dotnet run -c Release --project tests/ModelSdk.Benchmarks -- paired tiny|mlp|chain|two|dynamic|zipmap
// ZipMap: a classifier's best label (ModelSdk Run + Best vs raw ONNX Runtime's GetValue and AsDictionary):
//   dotnet run -c Release --project tests/ModelSdk.Benchmarks -- --filter '*ZipMap*'   (or: paired zipmap)
// Dynamic batching (throughput by concurrency and batch size, latency, bytes per call):
//   dotnet run -c Release --project tests/ModelSdk.Benchmarks -- batching [mlp|digits|compute]
// Times are the benchmark thread's CPU time (see BenchmarkJob); MODELSDK_BENCH_WALLCLOCK=1 measures wall time.
// Reports land in BenchmarkDotNet.Artifacts/results/ (git-ignored); the ones quoted in the README are
// kept in tests/ModelSdk.Benchmarks/results/.
using BenchmarkDotNet.Running;
using ModelSdk.Benchmarks;

if (args.Length > 0 && args[0] == "throughput")
{
    await ThroughputHarness.RunAsync(); // issue 4's queue throughput, measured in paired rounds
    return;
}

if (args.Length > 0 && args[0] == "batching")
{
    await BatchingHarness.RunAsync(args.Length > 1 ? args[1] : "all"); // dynamic batching vs the non-batching paths, in paired rounds
    return;
}

if (args.Length > 1 && args[0] == "paired")
{
    PairedHarness.Run(args[1]); // ratios in paired rounds, stable on a shared machine
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(BenchmarkJob).Assembly).Run(args);
