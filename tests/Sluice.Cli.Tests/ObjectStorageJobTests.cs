using Sluice.Testing;
using Apache.Arrow;
using Sluice.Cli.Commands;
using Sluice.Execution;
using Sluice.IO;
using Sluice.Jobs;
using Sluice.Testing.ObjectStorage;

namespace Sluice.Cli.Tests;

/// <summary>A job whose model and vocabulary are s3:// URLs, served by a real S3 server (s3rver).</summary>
[Collection(ModelCollection.Name)]
public sealed class ObjectStorageJobTests(ModelFiles models) : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly S3rver _s3 = S3rver.Start();

    private string Spec(string model, string vocab, string output) =>
        Jobs.EmbedSpec(_dir["docs.txt"], "text", model, vocab, output);

    [Fact]
    public async Task Run_ModelAndVocabOnS3_WritesTheSameEmbeddingsAsLocalFiles()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(60));
        await _s3.PutFileAsync("minilm/model.onnx", models.MiniLm.Model);
        await _s3.PutFileAsync("minilm/vocab.txt", models.MiniLm.Vocab);
        var options = new SpecOptions { ObjectFiles = _s3.Options(_dir["cache"]) };

        var remote = JobSpecParser.Parse(Spec("s3://models/minilm/model.onnx", "s3://models/minilm/vocab.txt", _dir["out-s3"]), "job.yaml", options);
        await JobRunner.RunAsync(remote, remote.Dataset(), null, quiet: true, CancellationToken.None);
        var local = JobSpecParser.Parse(Spec(models.MiniLm.Model, models.MiniLm.Vocab, _dir["out-local"]), "job.yaml", []);
        await JobRunner.RunAsync(local, local.Dataset(), null, quiet: true, CancellationToken.None);

        Assert.Equal(["stages[0].vocab", "stages[1].model"], remote.ObjectFiles.Select(f => f.Field));
        Assert.All(remote.ObjectFiles, f => Assert.StartsWith(_dir["cache"], f.LocalPath!, StringComparison.Ordinal));
        Assert.Equal(new FileInfo(models.MiniLm.Model).Length, remote.ObjectFiles[1].Length);
        var fromS3 = await ReadAsync(_dir["out-s3"]);
        Assert.Equal(60, fromS3.Count);
        var fromFiles = await ReadAsync(_dir["out-local"]);
        Assert.Equal(fromFiles.Select(r => r.Text), fromS3.Select(r => r.Text));
        for (var i = 0; i < fromS3.Count; i++)
            Assert.Equal(fromFiles[i].Embedding, fromS3[i].Embedding, (a, b) => Math.Abs(a - b) <= 1e-6f);
    }

    [Fact]
    public async Task Explain_ModelOnS3_AsksTheServerAndDownloadsNothing()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(5));
        await _s3.PutFileAsync("minilm/model.onnx", models.MiniLm.Model);
        var options = new SpecOptions { ObjectFiles = _s3.Options(_dir["cache"]), Prepare = false };

        var spec = JobSpecParser.Parse(Spec("s3://models/minilm/model.onnx", models.MiniLm.Vocab, _dir["out"]), "job.yaml", options);

        var model = Assert.Single(spec.ObjectFiles);
        Assert.Equal(("stages[1].model", new FileInfo(models.MiniLm.Model).Length, (string?)null), (model.Field, model.Length, model.LocalPath));
        Assert.False(Directory.Exists(_dir["cache"]));
    }

    [Fact]
    public async Task Cli_EndpointAndCacheFromEnvironment_ExplainReportsThenRunFetchesIntoTheCache()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(20));
        await _s3.PutFileAsync("minilm/model.onnx", models.MiniLm.Model);
        await _s3.PutFileAsync("minilm/vocab.txt", models.MiniLm.Vocab);
        File.WriteAllText(_dir["job.yaml"], Spec("s3://models/minilm/model.onnx", "s3://models/minilm/vocab.txt", _dir["out"]));
        // What a user sets: the server, its keys, and (here) where the cache goes.
        var environment = new Dictionary<string, string>
        {
            ["AWS_ENDPOINT_URL_S3"] = _s3.Endpoint.ToString(),
            ["AWS_ACCESS_KEY_ID"] = "S3RVER",
            ["AWS_SECRET_ACCESS_KEY"] = "S3RVER",
            ["XDG_CACHE_HOME"] = _dir["xdg"],
        };

        var explain = await SluiceProcess.RunAsync(environment, "explain", _dir["job.yaml"]);
        Assert.True(explain.Code == 0, explain.Err);
        Assert.Contains("stages[1].model: s3://models/minilm/model.onnx (", explain.Out, StringComparison.Ordinal);
        Assert.Contains("not cached: run downloads it", explain.Out, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir["xdg"]));

        var run = await SluiceProcess.RunAsync(environment, "run", _dir["job.yaml"], "--quiet");
        Assert.True(run.Code == 0, run.Err);
        Assert.Equal(20, (await ReadAsync(_dir["out"])).Count);

        var again = await SluiceProcess.RunAsync(environment, "explain", _dir["job.yaml"]);
        Assert.Contains($"cached at {Path.Combine(_dir["xdg"], "sluice", "objects")}", again.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parse_PartitionedModelOnS3_CutsTheCachedCopyAndKeepsThePlanInTheObjectCache()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(5));
        await _s3.PutFileAsync("minilm/model.onnx", models.MiniLm.Model);
        var yaml = Spec("s3://models/minilm/model.onnx", models.MiniLm.Vocab, _dir["out"]);

        // explain: the cut reads the model's graph, so the model is fetched, but the plan stays in memory.
        var explained = JobSpecParser.Parse(yaml, "job.yaml", new SpecOptions { ObjectFiles = _s3.Options(_dir["cache"]), Prepare = false, Overrides = ["stages.embed.partition.stages=2"] });
        var plan = JobExecution.Explain(explained.Dataset(), explained.Sink(), explained.Options());
        Assert.Contains("embed.0", plan, StringComparison.Ordinal);
        Assert.Contains("embed.1", plan, StringComparison.Ordinal);
        var model = Assert.Single(explained.ObjectFiles).LocalPath!;
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(model)!, ".partitions")));

        // run: the stage models are written beside the cached model, inside the object cache.
        var prepared = JobSpecParser.Parse(yaml, "job.yaml", new SpecOptions { ObjectFiles = _s3.Options(_dir["cache"]), Overrides = ["stages.embed.partition.stages=2"] });
        Assert.Equal(model, Assert.Single(prepared.ObjectFiles).LocalPath);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(Path.GetDirectoryName(model)!, ".partitions"), "*.onnx", SearchOption.AllDirectories));
    }

    [Fact]
    public void Parse_NoSuchObject_NamesTheFieldAndTheUrl()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(5));
        var options = new SpecOptions { ObjectFiles = _s3.Options(_dir["cache"]) };

        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec("s3://models/missing/model.onnx", models.MiniLm.Vocab, _dir["out"]), "job.yaml", options));

        var error = Assert.Single(e.Errors);
        Assert.Equal("stages[1].model", error.Field);
        Assert.Contains("s3://models/missing/model.onnx: no such object", error.Accepted, StringComparison.Ordinal);
        Assert.Equal(5, error.At?.Line);
    }

    [Fact]
    public void Parse_UrlWithCredentials_RefusedWithoutEchoingThem()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(5));

        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(models.MiniLm.Model, "s3://AKIA:hunter2@models/vocab.txt", _dir["out"]), "job.yaml", []));

        var error = Assert.Single(e.Errors);
        Assert.Equal("stages[0].vocab", error.Field);
        Assert.Contains("AWS_ACCESS_KEY_ID", error.Accepted, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }

    private static async Task<List<(string Text, float[] Embedding)>> ReadAsync(string dir)
    {
        var rows = new List<(string, float[])>();
        await foreach (var batch in Read.Parquet(dir).IterateBatchesAsync())
        {
            var text = (StringArray)batch.Column("text");
            var emb = (FixedSizeListArray)batch.Column("embedding");
            for (var i = 0; i < batch.Length; i++)
                rows.Add((text.GetString(i), ((FloatArray)emb.GetSlicedValues(i)).Values.ToArray()));
        }
        return [.. rows.OrderBy(r => r.Item1, StringComparer.Ordinal)];
    }

    public void Dispose()
    {
        _s3.Dispose();
        _dir.Dispose();
    }
}
