using System.Globalization;
using Sluice.Contracts;

namespace Sluice.IO;

/// <summary>
/// How a file sink sizes its part files: blocks are appended to an open part until it holds
/// <see cref="RowsPerFile"/> rows or about <see cref="TargetFileSize"/> bytes, whichever comes first, and the
/// part is then committed as one file (one fsync, one rename, one manifest line). Few large files are what
/// readers want (Spark, DuckDB, Ray Data open each file), and a commit per file instead of per block keeps
/// the writer from setting the job's speed. A block is never split across files, so a part holds at most
/// <see cref="RowsPerFile"/> rows unless one block alone holds more.
/// </summary>
public abstract record FileSinkOptions : IValidatedOptions
{
    /// <summary>128 MiB: a size readers scan efficiently, and large enough that fsyncs are rare.</summary>
    public const long DefaultTargetFileSize = 128L << 20;

    /// <summary>At most this many rows per part file; not set: only the size decides.</summary>
    public long? RowsPerFile { get; init; }

    /// <summary>A part file is closed once it reaches about this many bytes (as encoded, before the format's footer).</summary>
    [ByteSize]
    public long TargetFileSize { get; init; } = DefaultTargetFileSize;

    /// <summary>
    /// The S3 endpoint, region and staging directory of an <c>s3://</c> output; null: from the environment
    /// (<see cref="ObjectStorage.ObjectFileOptions"/>). Not a spec field: a job spec's sink takes the spec's own.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public ObjectStorage.ObjectFileOptions? ObjectStorage { get; init; }

    public virtual IEnumerable<OptionError> Problems()
    {
        if (RowsPerFile is < 1) yield return new(nameof(RowsPerFile), RowsPerFile.Value.ToString(CultureInfo.InvariantCulture), "give 1 or more rows, or leave it out to size files by bytes");
        if (TargetFileSize < 1) yield return new(nameof(TargetFileSize), TargetFileSize.ToString(CultureInfo.InvariantCulture), "give a size such as 128MiB");
    }

    /// <summary>
    /// What the output's fingerprint records of these options (<c>write.rows_per_file</c>, ...): a resume that
    /// would size or encode files otherwise is refused, so one output is written one way.
    /// </summary>
    internal virtual IEnumerable<KeyValuePair<string, string>> FingerprintFields()
    {
        yield return new("write.rows_per_file", RowsPerFile is { } r ? r.ToString(CultureInfo.InvariantCulture) : "not set");
        yield return new("write.target_file_size", TargetFileSize.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Throws naming every problem: the library's callers get what a job spec's would.</summary>
    internal void ThrowIfInvalid(string sink)
    {
        var problems = Problems().ToList();
        if (problems.Count > 0) throw new SluiceException($"{sink}: {string.Join("; ", problems)}");
    }
}

/// <summary>How Parquet part files are written.</summary>
public sealed record ParquetSinkOptions : FileSinkOptions
{
    /// <summary>128k rows: large enough for column scans, small enough that one buffered row group stays modest.</summary>
    public const int DefaultRowGroupRows = 128 * 1024;

    /// <summary>The column codec: zstd packs tighter than snappy at a similar read speed.</summary>
    public ParquetCompression Compression { get; init; } = ParquetCompression.Zstd;

    /// <summary>Rows per row group. A row group is also cut at 64 MiB of buffered data, so wide rows cannot hold much memory.</summary>
    public int RowGroupRows { get; init; } = DefaultRowGroupRows;

    public override IEnumerable<OptionError> Problems()
    {
        foreach (var p in base.Problems()) yield return p;
        if (RowGroupRows < 1) yield return new(nameof(RowGroupRows), RowGroupRows.ToString(CultureInfo.InvariantCulture), "give 1 or more rows");
    }

    internal override IEnumerable<KeyValuePair<string, string>> FingerprintFields() =>
        base.FingerprintFields().Concat([
            new("write.compression", Compression.ToString().ToLowerInvariant()),
            new("write.row_group_rows", RowGroupRows.ToString(CultureInfo.InvariantCulture))]);
}

/// <summary>How JSON Lines part files are written (plain UTF-8, one object per line).</summary>
public sealed record JsonLinesSinkOptions : FileSinkOptions;

/// <summary>The codec of Parquet column chunks.</summary>
public enum ParquetCompression
{
    Zstd,
    Snappy,
    None,
}
