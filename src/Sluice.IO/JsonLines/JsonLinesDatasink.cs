using Apache.Arrow;
using Sluice.IO.Output;

namespace Sluice.IO.JsonLines;

/// <summary>JSON Lines part files: one object per row; tensor and list columns as JSON arrays (<see cref="JsonLinesSinkOptions"/>).</summary>
internal sealed class JsonLinesDatasink(string directory, JsonLinesSinkOptions options) : FileDatasink(directory, options)
{
    public override string Name => $"jsonl({OutputDirectory})";

    protected override string Extension => "jsonl";

    protected override PartWriter OpenWriter(Stream output, RecordBatch first, double packing) => new JsonLinesPartWriter(output);
}
