// Issue 3's figures: ModelSdk and its baselines, one benchmark class per model, all in one run.
//   dotnet run -c Release --project tests/ModelSdk.Benchmarks -- --filter '*'
// Times are the benchmark thread's CPU time (see BenchmarkJob); MODELSDK_BENCH_WALLCLOCK=1 measures wall time.
// Reports land in BenchmarkDotNet.Artifacts/results/ (git-ignored); the ones quoted in the README are
// kept in tests/ModelSdk.Benchmarks/results/.
using BenchmarkDotNet.Running;
using ModelSdk.Benchmarks;

BenchmarkSwitcher.FromAssembly(typeof(BenchmarkJob).Assembly).Run(args);
