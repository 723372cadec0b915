using Apache.Arrow;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.JsonLines;

/// <summary>JSON Lines files (one object per line); one read task per file.</summary>
internal sealed class JsonLinesDatasource(string path, JsonLinesOptions options) : Datasource
{
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
        var tasks = files.Select(f => (ReadTask)new JsonLinesReadTask(f, options.InvalidUtf8, _invalid)).ToList();
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    /// <summary>The first file's schema, inferred from its first block as its read task would.</summary>
    public override async ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken)
    {
        var first = FileLister.Expand(path, "JSON Lines")[0];
        await foreach (var batch in new JsonLinesReadTask(first, options.InvalidUtf8, new InvalidUtf8Tally()).ReadAsync(new Plan.ReadOptions().BlockRows, cancellationToken).ConfigureAwait(false))
            return batch.Schema;
        return null;
    }
}
