using Sluice.Contracts;
using Sluice.IO.JsonLines;
using Sluice.IO.Parquet;

namespace Sluice.IO;

/// <summary>
/// File datasinks writing exactly once into an output directory: parts named
/// <c>part-{task:D5}-{taskHash}-{seq:D5}.ext</c> after the block's lineage, committed by rename and
/// recorded in <c>_manifest.jsonl</c> (with the job's fingerprint, checked on resume);
/// <c>_SUCCESS</c> marks a complete output. A run holds <c>_sluice.lock</c> while it writes.
/// </summary>
public static class Sinks
{
    /// <summary>Parquet parts (Snappy, Arrow schema stored so tensor columns round-trip).</summary>
    public static Datasink Parquet(string directory) => new ParquetDatasink(directory);

    /// <summary>JSON Lines parts; tensor and list columns as JSON arrays.</summary>
    public static Datasink JsonLines(string directory) => new JsonLinesDatasink(directory);
}
