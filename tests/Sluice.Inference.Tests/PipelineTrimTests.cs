using Apache.Arrow;
using Sluice.Inference.Partitioning;

namespace Sluice.Inference.Tests;

/// <summary>
/// Padding is cut in every stage of a partitioned pipeline, not only in the whole model: the first stage (which does not read
/// the mask) by the batch's mask column, the later ones their boundary tensor's sequence dim too. Without it the stage after
/// the embeddings attended over all 128 positions of every row: a partitioned MiniLM on CPU ran at a fraction of the whole.
/// </summary>
[Collection("models")]
public sealed class PipelineTrimTests(ModelFixture models) : IDisposable
{
    private const int Sequence = 128;
    private const int Real = 5;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sluice-pipeline-trim-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public void EveryStage_CutsThePaddingOfWhatItReads_TheBoundaryTensorIncluded()
    {
        var plan = ModelPartitioner.Write(models.MiniLm.Model, new PartitionOptions(Stages: 2), _dir);
        var stages = PipelineStages.For(plan, _dir, new OnnxOptions(models.MiniLm.Model) { Pooling = Pooling.Mean });
        Assert.All(stages, s => Assert.True(s.TrimPadding));

        // The first stage reads input_ids and token_type_ids, not the mask: the batch's mask column cuts them.
        using var first = OnnxModel.Load(stages[0], 1);
        Assert.Null(first.Mask);
        using (var inputs = TensorInputs.Prepare(Batch(first, withBoundary: null), first, trimPadding: true))
        {
            Assert.Equal(Real, inputs.Sequence);
            Assert.All(inputs.Values, v => Assert.Equal([2L, Real], v.GetTensorTypeAndShape().Shape));
        }

        // The second reads the boundary [batch, seq, hidden] and the mask: both are cut to the longest real row.
        using var second = OnnxModel.Load(stages[1], 1);
        var boundary = plan.Cuts[0]!;
        using (var inputs = TensorInputs.Prepare(Batch(second, withBoundary: boundary), second, trimPadding: true))
        {
            var shapes = inputs.Names.Zip(inputs.Values, (n, v) => (n, v.GetTensorTypeAndShape().Shape)).ToDictionary(p => p.n, p => p.Shape);
            Assert.Equal([2L, Real, 384], shapes[boundary]);
            Assert.Equal([2L, Real], shapes[OnnxOptions.AttentionMaskInput]);
        }
    }

    /// <summary>Two rows of 128 positions, the first <see cref="Real"/> of them real (mask 1), the rest padding.</summary>
    private static RecordBatch Batch(OnnxModel model, string? withBoundary)
    {
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        void Add((Field Field, FixedSizeListArray Array) column)
        {
            fields.Add(column.Field);
            arrays.Add(column.Array);
        }
        var ids = Enumerable.Range(0, 2 * Sequence).Select(i => i % Sequence < Real ? 1000L + i % Sequence : 0L).ToArray();
        var mask = Enumerable.Range(0, 2 * Sequence).Select(i => i % Sequence < Real ? 1L : 0L).ToArray();
        Add(TensorColumns.Create("input_ids", ids, 2, [Sequence]));
        Add(TensorColumns.Create("token_type_ids", new long[2 * Sequence], 2, [Sequence]));
        Add(TensorColumns.Create(OnnxOptions.AttentionMaskInput, mask, 2, [Sequence]));
        if (withBoundary is not null) Add(TensorColumns.Create(withBoundary, new float[2 * Sequence * 384], 2, [Sequence, 384]));
        return new RecordBatch(new Schema(fields, null), arrays, 2);
    }
}
