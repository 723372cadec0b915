using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Jobs;
using Sluice.Service.Roots;

namespace Sluice.Service.Tests;

public sealed class SpecPathsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Spec = """
        name: paths
        read: { format: text, path: data/*.txt }
        stages:
          - { name: tokenize, op: bert_tokenize, vocab: models/vocab.txt }
          - name: embed
            op: onnx
            model: models/model.onnx
            partition: { plan: plans/minilm }
        write: { format: parquet, path: out/embeddings }
        """;

    [Fact]
    public void Find_EveryPathASpecNames_WithItsFieldAndLine()
    {
        var found = SpecPaths.Find(Spec, JobRegistry.CreateDefault());

        Assert.Equal(
            [
                new SpecPaths.Named("read.path", "data/*.txt", 2),
                new SpecPaths.Named("write.path", "out/embeddings", 9),
                new SpecPaths.Named("stages[0].vocab", "models/vocab.txt", 4),
                new SpecPaths.Named("stages[1].model", "models/model.onnx", 7),
                new SpecPaths.Named("stages[1].partition.plan", "plans/minilm", 8),
            ],
            found);
    }

    [Fact]
    public void Check_PathsOutsideTheRoots_AreLocatedSpecErrors()
    {
        var roots = new RootPolicy([_dir.Dir("root")]);
        var spec = Spec.Replace("data/*.txt", _dir["root/data/*.txt"], StringComparison.Ordinal)
            .Replace("out/embeddings", _dir["root/../out"], StringComparison.Ordinal)
            .Replace("models/vocab.txt", "s3://bucket/vocab.txt", StringComparison.Ordinal)
            .Replace("models/model.onnx", _dir["root/models/model.onnx"], StringComparison.Ordinal)
            .Replace("plans/minilm", _dir["root/plans"], StringComparison.Ordinal);

        var errors = SpecPaths.Check(spec, "spec", JobRegistry.CreateDefault(), roots);

        Assert.Equal(["write.path", "stages[0].vocab"], errors.Select(e => e.Field));
        Assert.Equal("spec line 9", errors[0].At?.ToString());
        Assert.Contains($"it resolves to {_dir["out"]}", errors[0].Accepted);
        Assert.Contains("takes no URLs", errors[1].Accepted);
    }

    [Fact]
    public void FindAndUnconfined_ImagePreprocess_RootIsAPathAndPathColumnNeedsIt()
    {
        const string spec = """
            read: { format: jsonl, path: data/captions.jsonl }
            stages:
              - { name: a, op: image_preprocess, path_column: image_path, root: data/images }
              - { name: b, op: image_preprocess, path_column: image_path }
              - { name: c, op: image_preprocess, path_column: image_path, root: "" }
              - { name: d, op: image_preprocess, root: data/other }
              - { name: e, op: image_preprocess }
            write: { format: jsonl, path: out }
            """;
        var registry = JobRegistry.CreateDefault();

        var found = SpecPaths.Find(spec, registry);
        var unconfined = SpecPaths.FindUnconfined(spec, registry);

        Assert.Equal(["read.path", "write.path", "stages[0].root", "stages[3].root"], found.Select(p => p.Field));
        Assert.Equal(new SpecPaths.Named("stages[0].root", "data/images", 3), found[2]);
        Assert.Equal(
            [
                new SpecPaths.Unconfined(new SpecPaths.Named("stages[1].path_column", "image_path", 4), "stages[1].root"),
                new SpecPaths.Unconfined(new SpecPaths.Named("stages[2].path_column", "image_path", 5), "stages[2].root"),
            ],
            unconfined);
    }

    [Fact]
    public void Check_AnyRegisteredOpsDataPaths_AreConfinedByItsDataRootDefaultsIncluded()
    {
        // An op registered by a user, not image_preprocess: its markers alone bring the checks, a defaulted root included.
        var registry = JobRegistry.CreateDefault().AddOp<ListingProcessor, ListingOptions>("listing").AddOp<ListingProcessor, DefaultedListingOptions>("defaulted");
        var roots = new RootPolicy([_dir.Dir("root")]);
        var spec = $$"""
            read: { format: jsonl, path: {{_dir["root/in.jsonl"]}} }
            stages:
              - { name: a, op: listing, files: file }
              - { name: b, op: listing, files: file, under: {{_dir["root/docs"]}} }
              - { name: c, op: listing, files: file, under: {{_dir["elsewhere"]}} }
              - { name: d, op: defaulted, files: file }
            write: { format: jsonl, path: {{_dir["root/out"]}} }
            """;

        var errors = SpecPaths.Check(spec, "spec", registry, roots);

        Assert.Equal(["stages[2].under", "stages[3].under", "stages[0].under"], errors.Select(e => e.Field));
        Assert.Contains("outside the service's roots", errors[0].Accepted);
        Assert.Equal("/srv/docs", errors[1].Value);
        Assert.Equal("spec line 6", errors[1].At?.ToString());
        Assert.Contains("give stages[0].under", errors[2].Accepted);
        Assert.Equal("spec line 3", errors[2].At?.ToString());
    }

    [Fact]
    public void Find_NotYaml_FindsNothingAndLeavesTheErrorToBinding() =>
        Assert.Empty(SpecPaths.Find("read: [unclosed", JobRegistry.CreateDefault()));
}

/// <summary>An op's options as a user would mark them: a column of file paths, confined by a directory.</summary>
public sealed record ListingOptions([property: DataPaths(nameof(ListingOptions.Under))] string Files)
{
    [DataRoot]
    public string? Under { get; init; }
}

/// <summary>The same with a root the record defaults: the spec need not write it, and it is checked all the same.</summary>
public sealed record DefaultedListingOptions([property: DataPaths(nameof(DefaultedListingOptions.Under))] string Files)
{
    [DataRoot]
    public string? Under { get; init; } = "/srv/docs";
}

/// <summary>Never run: the checks read the options' markers only.</summary>
internal sealed class ListingProcessor : IBatchProcessor
{
    public ListingProcessor(ListingOptions options) => _ = options;

    public ListingProcessor(DefaultedListingOptions options) => _ = options;

    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(batch);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
