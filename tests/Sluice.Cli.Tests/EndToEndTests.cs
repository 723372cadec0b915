using Apache.Arrow;
using Sluice.Cli.Commands;
using Sluice.Jobs;
using Sluice.Execution;
using Sluice.Inference.Tests;
using Sluice.IO;

namespace Sluice.Cli.Tests;

[Collection(ModelCollection.Name)]
public class EndToEndTests(ModelFiles models) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<List<(string Text, float[] Embedding)>> ReadOutputAsync(string dir)
    {
        var rows = new List<(string, float[])>();
        await foreach (var batch in Read.Parquet(dir).IterateBatchesAsync())
        {
            var text = (StringArray)batch.Column("text");
            var emb = (FixedSizeListArray)batch.Column("embedding");
            for (var i = 0; i < batch.Length; i++)
                rows.Add((text.GetString(i), ((FloatArray)emb.GetSlicedValues(i)).Values.ToArray()));
        }
        return rows;
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }

    private async Task<ExecutionSnapshotResult> RunSpecAsync(string yaml, params string[] overrides)
    {
        var spec = JobSpecParser.Parse(yaml, "job.yaml", overrides);
        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);
        return new ExecutionSnapshotResult(spec.Write.Path, stats.Operators[^1].RowsOut);
    }

    private sealed record ExecutionSnapshotResult(string Output, long Rows);

    [Fact]
    public async Task Run_EmbedJobOnMiniLm_MatchesDirectOnnxRuntimeComputation()
    {
        var lines = Jobs.Lines(300);
        Directory.CreateDirectory(_dir["docs"]);
        File.WriteAllLines(_dir["docs/a.txt"], lines.Take(170));
        File.WriteAllLines(_dir["docs/b.txt"], lines.Skip(170));
        var result = await RunSpecAsync(Jobs.EmbedSpec(_dir["docs/*.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]));
        Assert.Equal(300, result.Rows);
        Assert.True(File.Exists(_dir["out/_SUCCESS"]));
        var output = await ReadOutputAsync(_dir["out"]);
        Assert.Equal(lines.Order(StringComparer.Ordinal), output.Select(r => r.Text).Order(StringComparer.Ordinal));
        var sample = output.Where((_, i) => i % 13 == 0).ToList();
        var reference = await Reference.EmbedAsync(models.MiniLm, sample.Select(s => s.Text).ToList());
        for (var i = 0; i < sample.Count; i++)
        {
            Assert.Equal(384, sample[i].Embedding.Length);
            Assert.True(Cosine(sample[i].Embedding, reference[i]) >= 0.9999, $"row '{sample[i].Text}': cosine {Cosine(sample[i].Embedding, reference[i])}");
        }
    }

    [Fact]
    public async Task Run_SameSpecPointedAtAnotherBertModel_WorksWithoutCodeChanges()
    {
        var lines = Jobs.Lines(40);
        File.WriteAllLines(_dir["docs.txt"], lines);
        var spec = Jobs.EmbedSpec(_dir["docs.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]);
        var result = await RunSpecAsync(spec, $"stages.embed.model={models.ArcticXs.Model}", $"stages.tokenize.vocab={models.ArcticXs.Vocab}");
        Assert.Equal(40, result.Rows);
        var output = await ReadOutputAsync(_dir["out"]);
        var reference = await Reference.EmbedAsync(models.ArcticXs, output.Select(r => r.Text).Take(5).ToList());
        for (var i = 0; i < 5; i++) Assert.True(Cosine(output[i].Embedding, reference[i]) >= 0.9999);
    }

    [Fact]
    public async Task Run_MalformedCsvRowMidJob_NamesFileAndLine_AndLeavesNothingHalfWritten()
    {
        var csv = new List<string> { "id,text" };
        csv.AddRange(Enumerable.Range(0, 200).Select(i => $"{i},row number {i}"));
        csv[151] = "150,a row,with one field too many";
        File.WriteAllLines(_dir["in.csv"], csv);
        var spec = Jobs.EmbedSpec(_dir["in.csv"], "csv", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"], blockRows: 50);
        var e = await Assert.ThrowsAsync<BadInputException>(() => RunSpecAsync(spec));
        Assert.Contains("in.csv line 152", e.Message);
        Assert.False(File.Exists(_dir["out/_SUCCESS"]));
        Assert.False(Directory.Exists(_dir["out/.tmp"]));
        // Whatever was committed is whole: every part file reads back completely.
        foreach (var part in Directory.GetFiles(_dir["out"], "part-*"))
            Assert.True((await ReadOutputAsync(part)).Count > 0);
    }

    [Fact]
    public async Task Run_InputGlobMatchesNothing_FailsBeforeTouchingTheOutput()
    {
        var spec = Jobs.EmbedSpec(_dir["missing/*.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]);
        var e = await Assert.ThrowsAsync<BadInputException>(() => RunSpecAsync(spec));
        Assert.Contains("missing/*.txt", e.Message);
        Assert.False(Directory.Exists(_dir["out"]));
    }

    [Fact]
    public async Task Run_ModelInputsDoNotMatchColumns_NamesColumnAndModelInput()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(10));
        var spec = Jobs.EmbedSpec(_dir["docs.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]);
        var e = await Assert.ThrowsAsync<BadInputException>(() => RunSpecAsync(spec, "stages.embed.inputs.input_ids=text"));
        Assert.Contains("stage 'embed'", e.Message);
        Assert.Contains("input_ids", e.Message);
        Assert.Contains("docs.txt rows 1–10", e.Message);
        Assert.False(File.Exists(_dir["out/_SUCCESS"]));
    }

    [Fact]
    public async Task Run_OutputExists_RefusesUnlessResumeOrOverwrite()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(20));
        var spec = Jobs.EmbedSpec(_dir["docs.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]);
        await RunSpecAsync(spec);
        var e = await Assert.ThrowsAsync<Sluice.SluiceException>(() => RunSpecAsync(spec));
        Assert.Contains("--resume", e.Message);
        var again = await RunSpecAsync(spec, "write.mode=overwrite");
        Assert.Equal(20, again.Rows);
    }
}
