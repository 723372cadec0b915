using Apache.Arrow;

namespace Sluice.Inference;

/// <summary>Shared wording for errors about a batch's columns.</summary>
internal static class Columns
{
    public static string Describe(RecordBatch batch) =>
        batch.ColumnCount == 0
            ? "(none)"
            : string.Join(", ", batch.Schema.FieldsList.Select(f => $"{f.Name}: {f.DataType.Name}"));

    public static int IndexOf(RecordBatch batch, string name) => batch.Schema.GetFieldIndex(name);
}
