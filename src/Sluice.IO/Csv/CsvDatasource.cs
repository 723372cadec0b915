using Apache.Arrow;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.Csv;

/// <summary>
/// CSV files read with Sep; one read task per file, never split: a quoted field may hold line breaks,
/// so a byte offset cannot tell where a row starts without reading from the file's start, and CSV
/// declares no "no multi-line fields" promise to rely on.
/// </summary>
internal sealed class CsvDatasource : Datasource
{
    /// <summary>Rows the schema is inferred from when the source is asked for it: one read task's usual first block.</summary>
    private const int SchemaSampleRows = 1024;

    private readonly string _path;

    public CsvDatasource(string path, CsvOptions options)
    {
        _path = path;
        Options = options;
        // Validate the declared types now, so a typo fails when the job starts, not mid-read.
        DeclaredTypes = (options.ColumnTypes ?? new Dictionary<string, string>())
            .ToDictionary(kv => kv.Key, kv => CsvColumnTypes.Parse(kv.Key, kv.Value), StringComparer.Ordinal);
    }

    public CsvOptions Options { get; }

    /// <summary>Invalid UTF-8 counted across this source's files since it was planned.</summary>
    private InvalidUtf8Tally InvalidUtf8 { get; } = new();

    public override IReadOnlyList<SourceWarning> Warnings => InvalidUtf8.Warnings;

    public IReadOnlyDictionary<string, CsvColumnType> DeclaredTypes { get; }

    private IReadOnlyList<string>? _files;

    public override string Name => $"csv({_path})";

    public override DatasourceInputs? DescribeInputs() => FileLister.Describe(_path, _files ?? FileLister.Expand(_path, "CSV")) with
    {
        Options = $"delimiter '{Options.Delimiter}', column_types {{{string.Join(", ", (Options.ColumnTypes ?? new Dictionary<string, string>()).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}: {kv.Value}"))}}}",
    };

    public override SourceEstimate? Estimate()
    {
        var files = FileLister.Expand(_path, "CSV");
        // Line counts stand in for rows (the header and multi-line fields make them a little high), good enough to size blocks.
        var lines = LineSplits.Estimate(files, long.MaxValue);
        return lines with { Splitting = $"one read task per file ({files.Count} file{(files.Count == 1 ? "" : "s")}): CSV is not split, a quoted field may hold line breaks" };
    }

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var files = FileLister.Expand(_path, "CSV");
        _files = files;
        InvalidUtf8.Reset();
        var tasks = files.Select(f => (ReadTask)new CsvReadTask(f, this, InvalidUtf8)).ToList();
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    /// <summary>The first file's schema, inferred from its first block as its read task would.</summary>
    public override async ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken)
    {
        var first = FileLister.Expand(_path, "CSV")[0];
        await foreach (var batch in new CsvReadTask(first, this, new InvalidUtf8Tally()).ReadAsync(SchemaSampleRows, cancellationToken).ConfigureAwait(false))
            return batch.Schema;
        using var reader = new CsvFileReader(first, Options.Delimiter);
        return CsvColumns.Schema(reader.Names, reader.Names.Select(n => DeclaredTypes.GetValueOrDefault(n, CsvColumnType.String)).ToArray());
    }
}
