using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.IO.Output;

namespace Sluice.IO.Parquet;

/// <summary>
/// Parquet part files through ParquetSharp's Arrow writer (zstd by default, <see cref="ParquetSinkOptions"/>).
/// The Arrow schema is stored in each file so tensor columns (fixed_size_list) and their shape metadata read
/// back as written, and every part gets the schema of the first part, so the output reads as one dataset.
/// </summary>
internal sealed class ParquetDatasink(string directory, ParquetSinkOptions options) : FileDatasink(directory, options)
{
    private readonly Lock _schemaLock = new();
    private Schema? _schema;

    public override string Name => $"parquet({OutputDirectory})";

    protected override string Extension => "parquet";

    protected override void OnOpened(string? firstCommittedPart)
    {
        lock (_schemaLock)
        {
            _schema = null;
            if (firstCommittedPart is null || !File.Exists(firstCommittedPart)) return;
            using var reader = new ParquetSharp.Arrow.FileReader(firstCommittedPart);
            _schema = reader.Schema;
        }
    }

    protected override RecordBatch Prepare(RecordBatch batch) => Conform(batch);

    protected override PartWriter OpenWriter(Stream output, RecordBatch first, double packing) =>
        new ParquetPartWriter(output, first.Schema, options, packing);

    /// <summary>The batch relabelled with the output's schema (every column nullable, the first part's metadata).</summary>
    private RecordBatch Conform(RecordBatch batch)
    {
        Schema schema;
        lock (_schemaLock)
        {
            _schema ??= new Schema(batch.Schema.FieldsList.Select(Nullable), batch.Schema.Metadata);
            schema = _schema;
        }
        var fields = batch.Schema.FieldsList;
        var expected = schema.FieldsList;
        var same = fields.Count == expected.Count;
        for (var i = 0; same && i < fields.Count; i++)
            same = fields[i].Name == expected[i].Name && Describe(fields[i].DataType) == Describe(expected[i].DataType);
        if (!same)
        {
            throw new SluiceException(
                $"{Name}: a block's columns ({Columns(fields)}) differ from the output's ({Columns(expected)}); " +
                "every block written to one output must have the same columns and types");
        }
        return new RecordBatch(schema, batch.Arrays, batch.Length);
    }

    private static Field Nullable(Field f) => new(f.Name, f.DataType, nullable: true, f.Metadata);

    private static string Columns(IEnumerable<Field> fields) => string.Join(", ", fields.Select(f => $"{f.Name}: {Describe(f.DataType)}"));

    // Arrow's type names omit children and sizes; compare the full structure.
    private static string Describe(IArrowType type) => type switch
    {
        FixedSizeListType f => $"fixed_size_list<{Describe(f.ValueDataType)}>[{f.ListSize}]",
        NestedType n => $"{n.Name}<{string.Join(",", n.Fields.Select(c => Describe(c.DataType)))}>",
        TimestampType t => $"timestamp[{t.Unit},{t.Timezone}]",
        _ => type.Name,
    };
}
