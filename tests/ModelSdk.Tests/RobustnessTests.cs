using System;
using System.IO;
using System.Threading.Tasks;
using Xunit;

namespace ModelSdk.Tests
{
    /// <summary>Every entry point validates before native code: nulls, lengths, dims, use after Dispose, vanished files.</summary>
    public class RobustnessTests
    {
        [Fact]
        public async Task Use_after_dispose_is_an_ObjectDisposedException_everywhere()
        {
            Digits model = Digits.Load();
            Digits.Request request = model.CreateRequest();
            Digits.Queue queue = model.CreateQueue(1);
            request.Dispose();
            queue.Dispose();
            Assert.Throws<ObjectDisposedException>(() => request.Infer(new float[64]));
            Assert.Throws<ObjectDisposedException>(() => request.SetInputs(new float[64]));
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await queue.StartAsync(new float[64]));

            model.Dispose();
            Assert.Throws<ObjectDisposedException>(() => model.Run(new float[64]));
            Assert.Throws<ObjectDisposedException>(() => model.CreateRequest());
            Assert.Throws<ObjectDisposedException>(() => { _ = model.RunAsync(new float[64]); });
            model.Dispose(); // twice is fine
        }

        [Fact]
        public void Bad_arguments_are_rejected_with_what_was_expected()
        {
            using DynamicBatch model = DynamicBatch.Load();
            using DynamicBatch.Request request = model.CreateRequest();
            Assert.Throws<ArgumentException>(() => request.Untyped.SelectOutputs(0UL));
            Assert.Throws<ArgumentOutOfRangeException>(() => request.Untyped.SelectOutputs(1UL << 5));
            Assert.Throws<ArgumentException>(() => request.Untyped.SelectOutputs("no-such-output"));
            Assert.Throws<ArgumentOutOfRangeException>(() => request.Untyped.SetSymbol(7, 1));
            Assert.Throws<InvalidOperationException>(() => request.Untyped.GetOutput(0)); // it has not run yet
            request.Infer(new float[8]);
            Assert.Throws<ArgumentOutOfRangeException>(() => request.Untyped.GetOutput(9));
            var wrongType = Assert.Throws<InvalidCastException>(() => request.Untyped.GetOutput<int>(0));
            Assert.Contains("float", wrongType.Message);
            Assert.Throws<ArgumentNullException>(() => request.SetInputs((float[])null!));
            Assert.Throws<ArgumentOutOfRangeException>(() => DynamicBatch.Load(new ModelOptions { IntraOpNumThreads = -1 }));
        }

        [Fact]
        public void Element_type_mismatch_through_the_untyped_api_names_both_types()
        {
            using Digits model = Digits.Load();
            using Digits.Request request = model.CreateRequest();
            var ex = Assert.Throws<ArgumentException>(() => request.Untyped.CopyInput(0, InputArg.FromBytes(OnnxElementType.Int32, new byte[64 * 4], new nint[] { 1, 64 })));
            Assert.Contains("float", ex.Message);
            Assert.Contains("int32", ex.Message);
        }

        [Fact]
        public void A_model_file_that_vanished_or_changed_is_named_in_the_error()
        {
            string path = Path.Combine(Path.GetTempPath(), "modelsdk-vanish-" + Guid.NewGuid() + ".onnx");
            File.Copy(TestData.Model("tiny"), path);
            using (Tiny.Load(path))
            {
            }

            File.Copy(TestData.Model("mlp_mid"), path, overwrite: true); // replaced by another model
            var changed = Assert.Throws<ModelLoadException>(() => Tiny.Load(path));
            Assert.Contains(path, changed.Message);

            File.Delete(path);
            var vanished = Assert.Throws<FileNotFoundException>(() => Tiny.Load(path));
            Assert.Contains(path, vanished.Message);
        }

        [Fact]
        public void Zero_sized_batches_are_valid_onnx_and_pass_through()
        {
            using DynamicBatch model = DynamicBatch.Load();
            DynamicBatch.Result r = model.Run(Array.Empty<float>(), batch: 0);
            Assert.Equal(new long[] { 0, 4 }, r.Scores.Shape.ToArray());
            Assert.Equal(0, r.Best.Length);
        }
    }
}
