using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Inference;
using Sluice.IO;

namespace Sluice.Cli.Tests;

/// <summary>The README's library example, compiled and run as written (paths aside).</summary>
[Collection(ModelCollection.Name)]
public class ReadmeExampleTests(ModelFiles models) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task LibraryExample_EmbedsParquetRows()
    {
        await Dataset.FromItems(Jobs.Lines(50).Select(t => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["text"] = t }))
            .WriteAsync(Sinks.Parquet(_dir["data"]));
        var vocab = models.MiniLm.Vocab;
        var model = models.MiniLm.Model;

        var stats = await Read.Parquet(_dir["data"], new() { BlockRows = 256 })
            .MapBatches(() => new BertTokenizeProcessor(new(vocab)), "tokenize",
                        new() { Resources = ResourceRequest.None })
            .MapBatches(() => new OnnxProcessor(new(model) { Pooling = Pooling.Mean }), "embed",
                        new() { BatchSize = 32, Pool = new(Min: 1, Max: 2), Resources = new(Cpus: 1) })
            .WriteAsync(Sinks.Parquet(_dir["out"]));

        Assert.Equal(50, stats.Operators[^1].RowsOut);
        var schema = await Read.Parquet(_dir["out"]).SchemaAsync();
        Assert.Equal(["text", "embedding"], schema.FieldsList.Select(f => f.Name));
    }

    [Fact]
    public void Readme_LibrarySnippet_IsTheCompiledOne()
    {
        var source = File.ReadAllLines(Path.Combine(Repo.Root, "tests/Sluice.Cli.Tests/ReadmeSnippet.cs"));
        var snippet = new List<string>();
        var inside = false;
        foreach (var line in source)
        {
            if (line.Trim() == "// README:begin") inside = true;
            else if (line.Trim() == "// README:end") inside = false;
            else if (inside) snippet.Add(line.Trim());
        }
        var readme = File.ReadAllLines(Path.Combine(Repo.Root, "README.md")).Select(l => l.Trim()).ToList();
        var start = readme.IndexOf(snippet[0]);
        Assert.True(start >= 0, "the README's library snippet does not start with the compiled usings line");
        var body = readme.IndexOf(snippet[1], start);
        Assert.True(body > start, "the README's library snippet does not hold the compiled body");
        Assert.Equal(snippet.Skip(1), readme.Skip(body).Take(snippet.Count - 1));
    }
}
