using Sluice.Contracts;
using Sluice.IO.JsonLines;
using Sluice.IO.Parquet;

namespace Sluice.IO;

/// <summary>
/// File datasinks writing exactly once into an output directory: blocks are gathered into part files of
/// about <see cref="FileSinkOptions.TargetFileSize"/> (or <see cref="FileSinkOptions.RowsPerFile"/> rows), each
/// named <c>part-{task:D5}-{taskHash}-{seq:D5}.ext</c> after its first block's lineage, committed by rename and
/// recorded in <c>_manifest.jsonl</c> with the blocks it holds (and the job's fingerprint, checked on resume);
/// <c>_SUCCESS</c> marks a complete output. A run holds <c>_sluice.lock</c> while it writes.
/// </summary>
public static class Sinks
{
    /// <summary>Parquet parts (zstd, Arrow schema stored so tensor columns round-trip), with the default options.</summary>
    public static Datasink Parquet(string directory) => Parquet(directory, new ParquetSinkOptions());

    /// <summary>Parquet parts written as <paramref name="options"/> say; invalid options are refused here, naming the field.</summary>
    public static Datasink Parquet(string directory, ParquetSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectStorage.DatasetPaths.RefuseUrl(directory, "write.path");
        options.ThrowIfInvalid($"parquet({directory})");
        return new ParquetDatasink(directory, options);
    }

    /// <summary>JSON Lines parts; tensor and list columns as JSON arrays, with the default options.</summary>
    public static Datasink JsonLines(string directory) => JsonLines(directory, new JsonLinesSinkOptions());

    /// <summary>JSON Lines parts written as <paramref name="options"/> say; invalid options are refused here, naming the field.</summary>
    public static Datasink JsonLines(string directory, JsonLinesSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectStorage.DatasetPaths.RefuseUrl(directory, "write.path");
        options.ThrowIfInvalid($"jsonl({directory})");
        return new JsonLinesDatasink(directory, options);
    }

    /// <summary>OpenAI Batch API output files (one response line per row, custom_id kept), as <paramref name="options"/> say.</summary>
    public static Datasink OpenAiBatch(string directory, OpenAiBatchSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectStorage.DatasetPaths.RefuseUrl(directory, "write.path");
        options.ThrowIfInvalid($"openai_batch({directory})");
        return new OpenAiBatch.OpenAiBatchDatasink(directory, options);
    }
}
