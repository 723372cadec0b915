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
    public void Find_NotYaml_FindsNothingAndLeavesTheErrorToBinding() =>
        Assert.Empty(SpecPaths.Find("read: [unclosed", JobRegistry.CreateDefault()));
}
