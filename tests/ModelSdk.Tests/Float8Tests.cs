using System;
using Xunit;

namespace ModelSdk.Tests
{
    /// <summary>
    /// float8 models (opset 19) have no typed API yet: the class is generated with MSDK0003. ModelSdk creates
    /// sessions and reads their metadata through ONNX Runtime's C API, which knows every element type (the managed
    /// InferenceSession of 1.31.1 can't read float8 metadata), so the model loads and is checked; running it through
    /// the typed API says which input can't be passed.
    /// </summary>
    public class Float8Tests
    {
        [Fact]
        public void A_float8_model_loads_and_its_typed_run_names_the_input_it_cant_pass()
        {
            TensorInfo e4m3fn = Float8Casts.ModelSignature.Inputs[1];
            Assert.Equal("e4m3fn_in", e4m3fn.Name);
            Assert.False(e4m3fn.IsSupported);
            Assert.Contains("float8e4m3fn", e4m3fn.TypeDescription);

            using Float8Casts model = Float8Casts.Load();
            Assert.Equal(5, model.Signature.Inputs.Count);
            var e = Assert.Throws<NotSupportedException>(() => model.Run(new float[] { 1 }));
            Assert.Contains("'e4m3fn_in'", e.Message);
            Assert.Contains("MSDK0003", e.Message);
        }
    }
}
