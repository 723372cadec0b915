using Apache.Arrow;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.JsonLines;

/// <summary>JSON Lines files (one object per line); one read task per file.</summary>
internal sealed class JsonLinesDatasource(string path) : Datasource
{
    private IReadOnlyList<string>? _files;

    public override string Name => $"jsonl({path})";

    public override DatasourceInputs? DescribeInputs() => FileLister.Describe(path, _files ?? FileLister.Expand(path, "JSON Lines"));

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var files = FileLister.Expand(path, "JSON Lines");
        _files = files;
        var tasks = files.Select(f => (ReadTask)new JsonLinesReadTask(f)).ToList();
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    /// <summary>The first file's schema, inferred from its first block as its read task would.</summary>
    public override async ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken)
    {
        var first = FileLister.Expand(path, "JSON Lines")[0];
        await foreach (var batch in new JsonLinesReadTask(first).ReadAsync(new Plan.ReadOptions().BlockRows, cancellationToken).ConfigureAwait(false))
            return batch.Schema;
        return null;
    }
}
