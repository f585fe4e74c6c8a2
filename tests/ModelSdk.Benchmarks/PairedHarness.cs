using System;
using System.Collections.Generic;
using System.Linq;

namespace ModelSdk.Benchmarks
{
    /// <summary>
    /// Ratios that hold on a noisy shared machine: each round runs every method of a benchmark class for a
    /// batch of calls, back to back, timed with the thread's CPU clock (<see cref="ThreadCpuClock"/>), and
    /// the per-round ratio to the first method is kept. A burst of load hits all methods of a round alike,
    /// so the median of the paired ratios is stable where whole-run means are not.
    ///   dotnet run -c Release --project tests/ModelSdk.Benchmarks -- paired tiny|mlp|chain|two|dynamic|zipmap
    /// </summary>
    internal static class PairedHarness
    {
        public static void Run(string scenario)
        {
            (string Name, Func<double> Call)[] methods;
            Action cleanup;
            switch (scenario)
            {
                case "tiny":
                case "mlp":
                {
                    OneInputBenchmarks b = scenario == "tiny" ? new TinyBenchmarks() : new MlpMidBenchmarks();
                    b.Setup();
                    Func<float> sdk = b is TinyBenchmarks t ? t.ModelSdk_Run : ((MlpMidBenchmarks)b).ModelSdk_Run;
                    Func<float> alternating = b is TinyBenchmarks t2 ? t2.ModelSdk_Run_AlternatingArrays : ((MlpMidBenchmarks)b).ModelSdk_Run_AlternatingArrays;
                    methods = new (string, Func<double>)[]
                    {
                        ("Raw ORT: IoBinding bound once (floor)", () => b.Ort_IoBinding_BoundOnce()),
                        ("ModelSdk Run", () => sdk()),
                        ("ModelSdk Run, alternating arrays", () => alternating()),
                        ("Raw ORT: Run with OrtValues made once", () => b.Ort_Run_PreallocatedOrtValues()),
                        ("Raw ORT: NamedOnnxValue + DenseTensor", () => b.Ort_NamedOnnxValue_DenseTensor()),
                        ("ML.NET PredictionEngine", () => b.MlNet_PredictionEngine()),
                    };
                    cleanup = b.Cleanup;
                    break;
                }

                case "chain":
                {
                    var c = new ChainingBenchmarks();
                    c.Setup();
                    methods = new (string, Func<double>)[]
                    {
                        ("ModelSdk chained (encoder output is the head's input)", () => c.ModelSdk_Chained()),
                        ("ModelSdk, features copied through a managed array", () => c.ModelSdk_CopyThroughManagedArray()),
                        ("Raw ORT, features copied through a managed array", () => c.Ort_CopyThroughManagedArray()),
                    };
                    cleanup = c.Cleanup;
                    break;
                }

                case "two":
                {
                    var two = new TwoOutputsBenchmarks();
                    two.Setup();
                    methods = new (string, Func<double>)[]
                    {
                        ("Raw ORT: Run returning every output", () => two.Ort_Run_AllOutputs()),
                        ("ModelSdk Run, small output only", () => two.ModelSdk_Run_SmallOnly()),
                        ("ModelSdk Run, every output", () => two.ModelSdk_Run_AllOutputs()),
                        ("Raw ORT: Run asking for the small output only", () => two.Ort_Run_SmallOnly()),
                        ("Raw ORT: NamedOnnxValue, every output", () => two.Ort_NamedOnnxValue_AllOutputs()),
                    };
                    cleanup = two.Cleanup;
                    break;
                }

                case "dynamic":
                {
                    var dyn = new DynamicBatchBenchmarks();
                    dyn.Setup();
                    methods = new (string, Func<double>)[]
                    {
                        ("Raw ORT: IoBinding bound once per shape (floor)", () => dyn.Ort_IoBinding_BoundOncePerShape()),
                        ("ModelSdk Run, batch 1 then 8", () => dyn.ModelSdk_Run_Batch1Then8()),
                        ("Raw ORT: Run with OrtValues made once", () => dyn.Ort_Run_PreallocatedOrtValues()),
                    };
                    cleanup = dyn.Cleanup;
                    break;
                }

                case "zipmap":
                {
                    var zip = new ZipMapBenchmarks();
                    zip.Setup();
                    methods = new (string, Func<double>)[]
                    {
                        ("Raw ORT: Run, then OrtValue.GetValue (map, keys, values)", () => zip.OnnxRuntime_OrtValue_GetValue()),
                        ("ModelSdk Run + Best()", () => zip.ModelSdk_Run_Best()),
                        ("Raw ORT: NamedOnnxValue, AsDictionary", () => zip.OnnxRuntime_NamedOnnxValue_AsDictionary()),
                    };
                    cleanup = zip.Cleanup;
                    break;
                }

                default:
                    throw new ArgumentException($"unknown scenario '{scenario}' (tiny, mlp, chain, two, dynamic, zipmap)");
            }

            try
            {
                Measure(scenario, methods);
            }
            finally
            {
                cleanup();
            }
        }

        private static void Measure(string scenario, (string Name, Func<double> Call)[] methods)
        {
            const int Rounds = 150;
            var clock = new ThreadCpuClock();

            // Calls per round: about 2 ms of the first method.
            long start = clock.GetTimestamp();
            int probe = 0;
            while (clock.GetTimestamp() - start < 2_000_000 && probe < 1_000_000)
            {
                methods[0].Call();
                probe++;
            }

            int batch = Math.Max(1, probe);
            var perCall = methods.Select(_ => new List<double>()).ToArray();
            var allocated = new long[methods.Length];
            for (int round = 0; round < Rounds; round++)
            {
                for (int m = 0; m < methods.Length; m++)
                {
                    Func<double> call = methods[m].Call;
                    long bytes = GC.GetAllocatedBytesForCurrentThread();
                    long t0 = clock.GetTimestamp();
                    for (int i = 0; i < batch; i++)
                    {
                        call();
                    }

                    long t1 = clock.GetTimestamp();
                    allocated[m] = (GC.GetAllocatedBytesForCurrentThread() - bytes) / batch;
                    perCall[m].Add((t1 - t0) / (double)batch);
                }
            }

            int warmup = Rounds / 10;
            Console.WriteLine($"{scenario}: {Rounds - warmup} paired rounds of {batch} calls, thread CPU time");
            Console.WriteLine("| method | per call (median) | ratio to the first (median of rounds) | p25 | p75 | allocated per call |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            for (int m = 0; m < methods.Length; m++)
            {
                var ratios = Enumerable.Range(warmup, Rounds - warmup).Select(r => perCall[m][r] / perCall[0][r]).ToList();
                double median = Percentile(perCall[m].Skip(warmup).ToList(), 0.5);
                Console.WriteLine($"| {methods[m].Name} | {Format(median)} | {Percentile(ratios, 0.5):0.000} | {Percentile(ratios, 0.25):0.000} | {Percentile(ratios, 0.75):0.000} | {allocated[m]} B |");
            }
        }

        private static string Format(double nanoseconds) => nanoseconds >= 1_000_000 ? $"{nanoseconds / 1e6:0.00} ms" : $"{nanoseconds / 1e3:0.00} us";

        private static double Percentile(List<double> values, double p)
        {
            List<double> sorted = values.OrderBy(v => v).ToList();
            return sorted[(int)Math.Round(p * (sorted.Count - 1))];
        }
    }
}
