using Apache.Arrow;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.JsonLines;

/// <summary>JSON Lines files (one object per line); one read task per file, or per line-aligned byte range of a large one.</summary>
internal sealed class JsonLinesDatasource(string path, JsonLinesOptions options) : Datasource
{
    /// <summary>Rows the schema is inferred from when the source is asked for it: one read task's usual first block.</summary>
    private const int SchemaSampleRows = 1024;

    private readonly InvalidUtf8Tally _invalid = new();

    private IReadOnlyList<string>? _files;

    public override string Name => $"jsonl({path})";

    public override IReadOnlyList<SourceWarning> Warnings => _invalid.Warnings;

    public override DatasourceInputs? DescribeInputs() => FileLister.Describe(path, _files ?? FileLister.Expand(path, "JSON Lines"));

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var files = FileLister.Expand(path, "JSON Lines");
        _files = files;
        _invalid.Reset();
        if (options.SplitBytes < 1) throw new SluiceException($"JsonLinesOptions.SplitBytes is {options.SplitBytes}; give 1 or more bytes per read task");
        var tasks = new List<ReadTask>();
        foreach (var file in files)
        {
            if (LineSplits.Of(file, new FileInfo(file).Length, options.SplitBytes) is { } ranges)
                tasks.AddRange(ranges.Select(r => new JsonLinesReadTask(file, r, options.InvalidUtf8, _invalid)));
            else
                tasks.Add(new JsonLinesReadTask(file, null, options.InvalidUtf8, _invalid));
        }
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    public override SourceEstimate? Estimate() => LineSplits.Estimate(FileLister.Expand(path, "JSON Lines"), options.SplitBytes);

    /// <summary>The first file's schema, inferred from its first block as its read task would.</summary>
    public override async ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken)
    {
        var first = FileLister.Expand(path, "JSON Lines")[0];
        await foreach (var batch in new JsonLinesReadTask(first, null, options.InvalidUtf8, new InvalidUtf8Tally()).ReadAsync(SchemaSampleRows, cancellationToken).ConfigureAwait(false))
            return batch.Schema;
        return null;
    }
}
