using Apache.Arrow;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.Csv;

/// <summary>CSV files read with Sep; one read task per file.</summary>
internal sealed class CsvDatasource : Datasource
{
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
        await foreach (var batch in new CsvReadTask(first, this, new InvalidUtf8Tally()).ReadAsync(new Plan.ReadOptions().BlockRows, cancellationToken).ConfigureAwait(false))
            return batch.Schema;
        using var reader = new CsvFileReader(first, Options.Delimiter);
        return CsvColumns.Schema(reader.Names, reader.Names.Select(n => DeclaredTypes.GetValueOrDefault(n, CsvColumnType.String)).ToArray());
    }
}
