using Apache.Arrow;

namespace Sluice.Execution.Tests;

/// <summary>Adds a payload of floats per row, so blocks have a known, sizeable byte count.</summary>
internal static class Payload
{
    public static RecordBatch Add(RecordBatch batch, int floatsPerRow)
    {
        var flat = new float[batch.Length * floatsPerRow];
        var ids = (Int64Array)batch.Column("id");
        for (var i = 0; i < batch.Length; i++) flat[i * floatsPerRow] = ids.GetValue(i)!.Value;
        var (field, array) = TensorColumns.Create("payload", flat, batch.Length, [floatsPerRow]);
        return ArrowBatches.WithColumn(batch, field, array);
    }
}
