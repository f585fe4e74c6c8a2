using System;
using System.Collections.Generic;
using System.Globalization;

namespace ModelSdk
{
    /// <summary>One class of a classifier's answer: its label, its position among the model's labels, its score.</summary>
    /// <typeparam name="TLabel">The label type: <see cref="long"/> or <see cref="string"/>.</typeparam>
    public readonly struct Prediction<TLabel> : IEquatable<Prediction<TLabel>>
    {
        /// <summary>Creates a prediction.</summary>
        public Prediction(TLabel label, int index, float score, string? name)
        {
            Label = label;
            Index = index;
            Score = score;
            Name = name;
        }

        /// <summary>The class label, as the model gives it.</summary>
        public TLabel Label { get; }

        /// <summary>The class's position among the model's labels (the generated <c>Labels</c>).</summary>
        public int Index { get; }

        /// <summary>The class's score (a probability for most classifiers).</summary>
        public float Score { get; }

        /// <summary>The label's display name when the model has names for int64 labels (<c>LabelNames</c>); otherwise null.</summary>
        public string? Name { get; }

        /// <inheritdoc/>
        public bool Equals(Prediction<TLabel> other) =>
            EqualityComparer<TLabel>.Default.Equals(Label, other.Label) && Index == other.Index && Score.Equals(other.Score) && Name == other.Name;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Prediction<TLabel> other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => HashCode.Combine(Label, Index, Score, Name);

        /// <summary>e.g. <c>virginica (2): 0.931</c>.</summary>
        public override string ToString() =>
            (Name != null ? Name + " (" + Label + ")" : Convert.ToString(Label, CultureInfo.InvariantCulture)) + ": " + Score.ToString("0.###", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The logic behind the generated <c>Best</c> and <c>TopK</c> of classifiers: over a row of a score tensor
    /// ([N, classes] or [classes]), or over one map of a ZipMap output (label -&gt; score). Ties go to the lower index.
    /// </summary>
    public static class Classification
    {
        /// <summary>The best class of row <paramref name="row"/> of a [N, classes] (or [classes]) score tensor.</summary>
        public static Prediction<TLabel> Best<TLabel>(ReadOnlySpan<float> scores, int row, IReadOnlyList<TLabel> labels, IReadOnlyList<string>? names)
        {
            ReadOnlySpan<float> values = Row(scores, row, labels.Count);
            int best = 0;
            for (int i = 1; i < values.Length; i++)
            {
                if (values[i] > values[best])
                {
                    best = i;
                }
            }

            return new Prediction<TLabel>(labels[best], best, values[best], names?[best]);
        }

        /// <summary>The best classes of a score tensor's row, written into <paramref name="destination"/> best first; returns how many.</summary>
        public static int TopK<TLabel>(ReadOnlySpan<float> scores, int row, IReadOnlyList<TLabel> labels, IReadOnlyList<string>? names, Span<Prediction<TLabel>> destination)
        {
            ReadOnlySpan<float> values = Row(scores, row, labels.Count);
            int count = 0;
            for (int i = 0; i < values.Length; i++)
            {
                count = Insert(destination, count, new Prediction<TLabel>(labels[i], i, values[i], names?[i]));
            }

            return count;
        }

        /// <summary>The <paramref name="k"/> best classes of a score tensor's row, best first.</summary>
        public static Prediction<TLabel>[] TopK<TLabel>(ReadOnlySpan<float> scores, int row, IReadOnlyList<TLabel> labels, IReadOnlyList<string>? names, int k)
        {
            var result = new Prediction<TLabel>[CheckK(k, labels.Count)];
            TopK(scores, row, labels, names, result.AsSpan());
            return result;
        }

        /// <summary>The best class of map <paramref name="row"/> of a ZipMap output (label -&gt; score).</summary>
        public static Prediction<TLabel> Best<TLabel>(OnnxSequence<OnnxMap<TLabel, float>> rows, int row, IReadOnlyList<TLabel> labels, IReadOnlyList<string>? names)
        {
            OnnxMap<TLabel, float> map = Map(rows, row);
            ReadOnlySpan<float> values = map.Values;
            int best = 0;
            for (int i = 1; i < values.Length; i++)
            {
                if (values[i] > values[best])
                {
                    best = i;
                }
            }

            return Predict(map, best, labels, names);
        }

        /// <summary>The best classes of one map of a ZipMap output, written into <paramref name="destination"/> best first; returns how many.</summary>
        public static int TopK<TLabel>(OnnxSequence<OnnxMap<TLabel, float>> rows, int row, IReadOnlyList<TLabel> labels, IReadOnlyList<string>? names, Span<Prediction<TLabel>> destination)
        {
            OnnxMap<TLabel, float> map = Map(rows, row);
            int count = 0;
            for (int i = 0; i < map.Count; i++)
            {
                count = Insert(destination, count, Predict(map, i, labels, names));
            }

            return count;
        }

        /// <summary>The <paramref name="k"/> best classes of one map of a ZipMap output, best first.</summary>
        public static Prediction<TLabel>[] TopK<TLabel>(OnnxSequence<OnnxMap<TLabel, float>> rows, int row, IReadOnlyList<TLabel> labels, IReadOnlyList<string>? names, int k)
        {
            var result = new Prediction<TLabel>[CheckK(k, Map(rows, row).Count)];
            TopK(rows, row, labels, names, result.AsSpan());
            return result;
        }

        private static ReadOnlySpan<float> Row(ReadOnlySpan<float> scores, int row, int classes)
        {
            if (classes == 0 || scores.Length % classes != 0)
            {
                throw new InvalidOperationException($"The scores hold {scores.Length} values, which is not rows of {classes} classes.");
            }

            int rows = scores.Length / classes;
            if ((uint)row >= (uint)rows)
            {
                throw new ArgumentOutOfRangeException(nameof(row), row, $"The scores have {rows} row(s).");
            }

            return scores.Slice(row * classes, classes);
        }

        private static OnnxMap<TLabel, float> Map<TLabel>(OnnxSequence<OnnxMap<TLabel, float>> rows, int row)
        {
            ArgumentNullException.ThrowIfNull(rows);
            if ((uint)row >= (uint)rows.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(row), row, $"The output has {rows.Count} row(s).");
            }

            return rows[row];
        }

        // A map's keys are ascending, not necessarily the labels' order: the index is the label's position among the labels.
        private static Prediction<TLabel> Predict<TLabel>(OnnxMap<TLabel, float> map, int entry, IReadOnlyList<TLabel> labels, IReadOnlyList<string>? names)
        {
            TLabel label = map.Keys[entry];
            int index = -1;
            for (int i = 0; i < labels.Count; i++)
            {
                if (EqualityComparer<TLabel>.Default.Equals(labels[i], label))
                {
                    index = i;
                    break;
                }
            }

            return new Prediction<TLabel>(label, index, map.Values[entry], index >= 0 ? names?[index] : null);
        }

        /// <summary>Inserts <paramref name="candidate"/> into the best-first list of <paramref name="count"/> items (kept at most the destination's length).</summary>
        private static int Insert<TLabel>(Span<Prediction<TLabel>> destination, int count, Prediction<TLabel> candidate)
        {
            int at = count;
            while (at > 0 && candidate.Score > destination[at - 1].Score)
            {
                at--;
            }

            if (at >= destination.Length)
            {
                return count;
            }

            int last = Math.Min(count, destination.Length - 1);
            for (int i = last; i > at; i--)
            {
                destination[i] = destination[i - 1];
            }

            destination[at] = candidate;
            return Math.Min(count + 1, destination.Length);
        }

        private static int CheckK(int k, int classes) =>
            k >= 0 ? Math.Min(k, classes) : throw new ArgumentOutOfRangeException(nameof(k), k, "k can't be negative.");
    }
}
