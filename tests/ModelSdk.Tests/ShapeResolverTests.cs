using System;
using Xunit;

namespace ModelSdk.Tests
{
    /// <summary>Shape resolution on its own: a pure function of a signature and one run's inputs, no ONNX Runtime.</summary>
    public class ShapeResolverTests
    {
        private static readonly ModelSignature Batched = new ModelSignature(
            "Batched",
            new[]
            {
                new TensorInfo("features", OnnxElementType.Float, new[] { Dim.Symbolic("batch"), Dim.Fixed(8) }),
                new TensorInfo("mask", OnnxElementType.Bool, new[] { Dim.Symbolic("batch") }),
            },
            new[]
            {
                new TensorInfo("scores", OnnxElementType.Float, new[] { Dim.Symbolic("batch"), Dim.Fixed(4) }),
                new TensorInfo("indices", OnnxElementType.Int64, new[] { Dim.Fixed(1), Dim.Unknown }),
                new TensorInfo("names", OnnxElementType.String, new[] { Dim.Symbolic("batch") }),
            });

        private static ShapeResolver Resolver(ModelSignature signature) => new ShapeResolver(signature);

        private static ModelSignature One(params Dim[] dims) => new ModelSignature(
            "One", new[] { new TensorInfo("x", OnnxElementType.Float, dims) }, new[] { new TensorInfo("y", OnnxElementType.Float, dims) });

        [Fact]
        public void Symbols_are_inferred_from_lengths_and_give_output_shapes()
        {
            ShapeResolver shapes = Resolver(Batched);
            shapes.GiveLength(0, 40);
            shapes.GiveLength(1, 5);
            Assert.True(shapes.Resolve());
            Assert.Equal(new long[] { 5, 8 }, shapes.InputShape(0).ToArray());
            Assert.Equal(new long[] { 5 }, shapes.InputShape(1).ToArray());
            Assert.Equal(5, shapes.SymbolValue(0));

            Assert.True(shapes.IsPredictable(0));
            Assert.False(shapes.IsPredictable(1)); // an unknown dim: only ONNX Runtime knows it after the run
            Assert.False(shapes.IsPredictable(2)); // strings are never preallocated
            Span<long> shape = stackalloc long[2];
            Assert.Equal(20, shapes.OutputShape(0, shape));
            Assert.Equal(new long[] { 5, 4 }, shape.ToArray());
            Assert.Equal("[batch=5, 4]", shapes.OutputShapeText(0));
        }

        [Fact]
        public void Inputs_that_disagree_on_a_symbol_are_rejected_naming_the_input_and_the_expected_shape()
        {
            ShapeResolver shapes = Resolver(Batched);
            shapes.GiveLength(0, 40); // batch = 5
            shapes.GiveLength(1, 4);  // batch = 4
            var ex = Assert.Throws<ArgumentException>(() => shapes.Resolve());
            Assert.Contains("'mask'", ex.Message);
            Assert.Contains("[batch=5]", ex.Message);
            Assert.Contains("received 4 elements", ex.Message);
        }

        [Fact]
        public void A_length_that_is_no_whole_number_of_rows_is_rejected()
        {
            ShapeResolver shapes = Resolver(Batched);
            shapes.GiveLength(0, 41);
            shapes.GiveLength(1, 5);
            var ex = Assert.Throws<ArgumentException>(() => shapes.Resolve());
            Assert.Contains("41 elements can't be read as [batch, 8]", ex.Message);
            Assert.Contains("pass batch explicitly", ex.Message);
        }

        [Fact]
        public void A_given_symbol_decides_and_is_checked_against_the_lengths()
        {
            ShapeResolver shapes = Resolver(Batched);
            shapes.GiveSymbol(0, 2);
            shapes.GiveLength(0, 40);
            shapes.GiveLength(1, 2);
            var ex = Assert.Throws<ArgumentException>(() => shapes.Resolve());
            Assert.Contains("[batch=2, 8]", ex.Message);
            Assert.Contains("(16 elements) but received 40", ex.Message);

            Assert.Throws<ArgumentOutOfRangeException>(() => shapes.GiveSymbol(0, -1));
            Assert.Throws<ArgumentOutOfRangeException>(() => shapes.GiveSymbol(9, 1));
        }

        [Fact]
        public void Given_shapes_are_checked_against_fixed_dims_ranks_and_each_other()
        {
            ShapeResolver shapes = Resolver(Batched);
            Assert.Contains("has 2 dimensions but the given tensor has 3", Assert.Throws<ArgumentException>(() => shapes.GiveShape(0, 8, new nint[] { 1, 1, 8 })).Message);
            Assert.Contains("negative dimension", Assert.Throws<ArgumentException>(() => shapes.GiveShape(0, 8, new nint[] { -1, 8 })).Message);

            shapes.GiveShape(0, 14, new nint[] { 2, 7 });
            shapes.GiveLength(1, 2);
            Assert.Contains("dimension 1 must be 8", Assert.Throws<ArgumentException>(() => shapes.Resolve()).Message);

            shapes.Clear();
            shapes.GiveShape(0, 24, new nint[] { 3, 8 });
            shapes.GiveShape(1, 2, new nint[] { 2 });
            Assert.Contains("is 2 in the given tensor but batch = 3", Assert.Throws<ArgumentException>(() => shapes.Resolve()).Message);
        }

        [Fact]
        public void A_symbol_repeated_in_one_input_is_not_guessed_from_a_length()
        {
            ShapeResolver shapes = Resolver(One(Dim.Symbolic("n"), Dim.Symbolic("n")));
            shapes.GiveLength(0, 9);
            Assert.Contains("can't be inferred", Assert.Throws<ArgumentException>(() => shapes.Resolve()).Message);

            shapes.Clear();
            shapes.GiveSymbol(0, 3);
            shapes.GiveLength(0, 9);
            Assert.True(shapes.Resolve());
            Assert.Equal(new long[] { 3, 3 }, shapes.InputShape(0).ToArray());
        }

        [Fact]
        public void Two_unknowns_in_one_input_are_resolved_through_another_input()
        {
            var signature = new ModelSignature(
                "Two",
                new[]
                {
                    new TensorInfo("a", OnnxElementType.Float, new[] { Dim.Symbolic("rows"), Dim.Symbolic("cols") }),
                    new TensorInfo("b", OnnxElementType.Float, new[] { Dim.Symbolic("cols") }),
                },
                new[] { new TensorInfo("y", OnnxElementType.Float, new[] { Dim.Symbolic("rows") }) });
            ShapeResolver shapes = Resolver(signature);
            shapes.GiveLength(0, 12);
            shapes.GiveLength(1, 4);
            shapes.Resolve();
            Assert.Equal(new long[] { 3, 4 }, shapes.InputShape(0).ToArray());
        }

        [Fact]
        public void An_input_without_a_declared_shape_is_flat_or_takes_the_given_shape()
        {
            var signature = new ModelSignature("Free", new[] { new TensorInfo("x", OnnxElementType.Float, null) }, new[] { new TensorInfo("y", OnnxElementType.Float, null) });
            ShapeResolver shapes = Resolver(signature);
            shapes.GiveLength(0, 7);
            shapes.Resolve();
            Assert.Equal(new long[] { 7 }, shapes.InputShape(0).ToArray());
            shapes.Clear();
            shapes.GiveShape(0, 6, new nint[] { 1, 2, 3 });
            shapes.Resolve();
            Assert.Equal(new long[] { 1, 2, 3 }, shapes.InputShape(0).ToArray());
        }

        [Fact]
        public void Repeating_the_same_lengths_reuses_the_shapes_and_anything_given_resolves_again()
        {
            ShapeResolver shapes = Resolver(Batched);
            shapes.GiveLength(0, 16);
            shapes.GiveLength(1, 2);
            Assert.True(shapes.Resolve());
            shapes.Clear();
            shapes.GiveLength(0, 16);
            shapes.GiveLength(1, 2);
            Assert.False(shapes.Resolve()); // nothing changed: outputs need not be prepared again
            Assert.Equal(2, shapes.SymbolValue(0));

            shapes.Clear();
            shapes.GiveSymbol(0, 2);
            shapes.GiveLength(0, 16);
            shapes.GiveLength(1, 2);
            Assert.True(shapes.Resolve());

            shapes.Clear();
            shapes.GiveLength(0, 16);
            shapes.GiveLength(1, 2);
            Assert.True(shapes.Resolve()); // the last resolution came from a given symbol: not reused

            shapes.Clear();
            shapes.GiveLength(0, 8);
            shapes.GiveLength(1, 1);
            Assert.True(shapes.Resolve());
            Assert.Equal(new long[] { 1, 8 }, shapes.InputShape(0).ToArray());
        }

        [Fact]
        public void A_rejected_resolution_is_not_reused()
        {
            ShapeResolver shapes = Resolver(Batched);
            shapes.GiveLength(0, 16);
            shapes.GiveLength(1, 2);
            shapes.Resolve();
            shapes.Clear();
            shapes.GiveLength(0, 16);
            shapes.GiveLength(1, 3);
            Assert.Throws<ArgumentException>(() => shapes.Resolve());
            shapes.Clear();
            shapes.GiveLength(0, 16);
            shapes.GiveLength(1, 2);
            Assert.True(shapes.Resolve());
        }

        [Fact]
        public void Shapes_too_large_for_memory_are_rejected_instead_of_wrapping()
        {
            ShapeResolver shapes = Resolver(One(Dim.Symbolic("a"), Dim.Symbolic("b")));
            shapes.GiveShape(0, 0, new nint[] { nint.MaxValue, 4 });
            Assert.Contains("more elements than fit in memory", Assert.Throws<ArgumentException>(() => shapes.Resolve()).Message);
        }
    }
}
