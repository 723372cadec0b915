using Apache.Arrow;
using Sluice.IO.Output;

namespace Sluice.IO.OpenAiBatch;

/// <summary>OpenAI Batch API output files: JSON Lines part files of response lines, committed like every file sink's parts.</summary>
internal sealed class OpenAiBatchDatasink(string directory, OpenAiBatchSinkOptions options) : FileDatasink(directory, options)
{
    public override string Name => $"openai_batch({OutputDirectory})";

    protected override string Extension => "jsonl";

    protected override PartWriter OpenWriter(Stream output, RecordBatch first, double packing) => new OpenAiBatchPartWriter(output, options);
}
