using System.IO;
using System.Threading;
using ModelSdk.Generators.Model;
using ModelSdk.Generators.Reading;
using ModelSdk.Onnx;
using Xunit;

namespace ModelSdk.Generators.Tests
{
    public class ReaderTests
    {
        [Fact]
        public void Reads_names_types_dims_docs_and_metadata()
        {
            using FileStream file = File.OpenRead(GeneratorHarness.Model("dynamic_batch"));
            ModelSpec spec = OnnxModelReader.Read(file);
            ValueSpec input = Assert.Single(spec.Inputs);
            Assert.Equal("features", input.Name);
            Assert.Equal(1, input.Type.ElementType);
            Assert.Equal(new DimSpec(-1, "batch"), input.Type.Dims[0]);
            Assert.Equal(new DimSpec(8, null), input.Type.Dims[1]);
            Assert.Equal(new[] { "scores", "best" }, new[] { spec.Outputs[0].Name, spec.Outputs[1].Name });
            Assert.Contains(spec.Opsets, o => o.Domain == "" && o.Version == 17);
        }

        [Fact]
        public void Initializers_listed_as_inputs_are_dropped()
        {
            using FileStream file = File.OpenRead(GeneratorHarness.Model("legacy_initializer_inputs"));
            ModelSpec spec = OnnxModelReader.Read(file);
            Assert.Equal("x", Assert.Single(spec.Inputs).Name);
            Assert.Equal(3, spec.IrVersion);
        }

        [Fact]
        public void Metadata_of_a_500_MB_model_costs_what_a_small_one_does()
        {
            // input x, a 500 MB initializer W (a sparse region of the file: no disk is used), output y.
            string path = Path.Combine(Path.GetTempPath(), "modelsdk-huge-" + System.Guid.NewGuid() + ".onnx");
            const long WeightBytes = 500L * 1024 * 1024;
            try
            {
                using (FileStream file = File.Create(path))
                {
                    var w = new ProtoWriter(file);
                    w.Int(1, 8);
                    w.Tag(7, 2);
                    var tail = new MemoryStream();
                    var t = new ProtoWriter(tail);
                    t.Message(11, v => ProtoWriter.FloatTensorValue(v, "x", "batch", 4));
                    t.Message(12, v => ProtoWriter.FloatTensorValue(v, "y", "batch", 4));
                    var initializerHeader = new MemoryStream();
                    new ProtoWriter(initializerHeader).String(8, "W").Tag(9, 2).Varint(WeightBytes);
                    long initializerLength = initializerHeader.Length + WeightBytes;
                    var graphHeader = new MemoryStream();
                    new ProtoWriter(graphHeader).Tag(5, 2).Varint((ulong)initializerLength);
                    w.Varint((ulong)(graphHeader.Length + initializerLength + tail.Length));
                    file.Write(graphHeader.ToArray());
                    file.Write(initializerHeader.ToArray());
                    file.Seek(WeightBytes, SeekOrigin.Current); // sparse: the weights are never written
                    file.Write(tail.ToArray());
                }

                using var counting = new CountingStream(File.OpenRead(path));
                ModelSpec spec = OnnxModelReader.Read(counting, CancellationToken.None);
                Assert.Equal("x", Assert.Single(spec.Inputs).Name);
                Assert.Equal("y", Assert.Single(spec.Outputs).Name);
                Assert.True(new FileInfo(path).Length > WeightBytes);
                Assert.True(counting.BytesRead < 256 * 1024, $"read {counting.BytesRead} bytes of a {new FileInfo(path).Length}-byte model");
            }
            finally
            {
                File.Delete(path);
            }
        }

        /// <summary>Counts the bytes actually read (seeks past data are free).</summary>
        private sealed class CountingStream : Stream
        {
            private readonly Stream _inner;

            public CountingStream(Stream inner) => _inner = inner;

            public long BytesRead { get; private set; }

            public override bool CanRead => true;

            public override bool CanSeek => true;

            public override bool CanWrite => false;

            public override long Length => _inner.Length;

            public override long Position { get => _inner.Position; set => _inner.Position = value; }

            public override int Read(byte[] buffer, int offset, int count)
            {
                int n = _inner.Read(buffer, offset, count);
                BytesRead += n;
                return n;
            }

            public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);

            public override void Flush() => _inner.Flush();

            public override void SetLength(long value) => throw new System.NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new System.NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                _inner.Dispose();
                base.Dispose(disposing);
            }
        }
    }
}
