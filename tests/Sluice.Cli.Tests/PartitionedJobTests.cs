using Apache.Arrow;
using Sluice.Cli.Commands;
using Sluice.Jobs;
using Sluice.Execution;
using Sluice.IO;

namespace Sluice.Cli.Tests;

/// <summary>An onnx stage with <c>partition: { stages: 3 }</c> runs as three pipeline operators and writes what the whole model does.</summary>
[Collection(ModelCollection.Name)]
public class PartitionedJobTests(ModelFiles models) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<Dictionary<string, float[]>> EmbeddingsAsync(string dir)
    {
        var result = new Dictionary<string, float[]>();
        await foreach (var batch in Read.Parquet(dir).IterateBatchesAsync())
        {
            Assert.Equal(["text", "embedding"], batch.Schema.FieldsList.Select(f => f.Name));
            var text = (StringArray)batch.Column("text");
            var emb = (FixedSizeListArray)batch.Column("embedding");
            for (var i = 0; i < batch.Length; i++) result[text.GetString(i)] = ((FloatArray)emb.GetSlicedValues(i)).Values.ToArray();
        }
        return result;
    }

    /// <summary>The same texts, and each embedding within 1e-4 of the whole model's.</summary>
    private static async Task AssertSameEmbeddingsAsync(string wholeDir, string dir)
    {
        var whole = await EmbeddingsAsync(wholeDir);
        var got = await EmbeddingsAsync(dir);
        Assert.Equal(whole.Keys.Order(StringComparer.Ordinal), got.Keys.Order(StringComparer.Ordinal));
        foreach (var (text, expected) in whole)
            Assert.True(expected.Zip(got[text]).Max(p => Math.Abs(p.First - p.Second)) <= 1e-4, $"'{text}' differs from the whole model's embedding");
    }

    [Fact]
    public async Task Run_OnnxStagePartitionedIntoThree_WritesTheWholeModelsEmbeddings()
    {
        // The model is copied so its partitions (cached beside it) stay inside this test's folder.
        Directory.CreateDirectory(_dir["model"]);
        File.Copy(models.MiniLm.Model, _dir["model/model.onnx"]);
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(60));
        var yaml = Jobs.EmbedSpec(_dir["docs.txt"], "text", _dir["model/model.onnx"], models.MiniLm.Vocab, _dir["whole"], blockRows: 32);
        var wholeSpec = JobSpecParser.Parse(yaml, "job.yaml", []);
        await JobRunner.RunAsync(wholeSpec, wholeSpec.Dataset(), null, quiet: true, CancellationToken.None);

        var spec = JobSpecParser.Parse(yaml, "job.yaml",
            [$"write.path={_dir["split"]}", "stages.embed.partition.stages=3", "stages.embed.resources.cpus=0.5", "stages.embed.pool.max=1"]);
        var plan = JobExecution.Explain(spec.Dataset(), spec.Sink(), spec.Options());
        Assert.Contains("embed.0 (OnnxProcessor)", plan);
        Assert.Contains("embed.2 (OnnxProcessor)", plan);
        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);
        Assert.Equal(["embed.0", "embed.1", "embed.2"], stats.Operators.Where(o => o.Name.StartsWith("embed", StringComparison.Ordinal)).Select(o => o.Name));
        Assert.True(File.Exists(_dir["model/.partitions/model-stages3-params/plan.json"]));

        var whole = await EmbeddingsAsync(_dir["whole"]);
        var split = await EmbeddingsAsync(_dir["split"]);
        Assert.Equal(whole.Keys.Order(StringComparer.Ordinal), split.Keys.Order(StringComparer.Ordinal));
        foreach (var (text, expected) in whole)
        {
            var got = split[text];
            double dot = 0, na = 0, nb = 0;
            for (var i = 0; i < got.Length; i++) { dot += got[i] * expected[i]; na += got[i] * got[i]; nb += expected[i] * expected[i]; }
            Assert.True(dot / Math.Sqrt(na * nb) >= 0.9999, $"'{text}': cosine {dot / Math.Sqrt(na * nb)}");
        }
    }

    /// <summary>MiniLM is 86.7 MiB; its largest 2-stage partition 45.5 MiB (the word embeddings): 64 MiB devices need exactly 2 stages.</summary>
    private static readonly string[] SmallGpus = ["execution.sim_gpus=2", "execution.sim_gpu_memory=64MiB", "stages.embed.resources.gpus=1", "stages.embed.pool.max=1"];

    [Fact]
    public async Task Run_ModelBiggerThanSimulatedGpu_IsRefusedSayingHowToFit()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(5));
        var yaml = Jobs.EmbedSpec(_dir["docs.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]);
        var spec = JobSpecParser.Parse(yaml, "job.yaml", SmallGpus);

        var e = await Assert.ThrowsAsync<SluiceException>(() => JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None));

        Assert.Contains("stage 'embed': each GPU must hold 86.", e.Message);
        Assert.Contains("the largest GPU has 64 MiB", e.Message);
        Assert.Contains("partition: { max_stage_bytes: 64MiB }", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir["out"], "_SUCCESS")));
    }

    [Fact]
    public async Task Run_PartitionAuto_PicksFewestStagesThatFitAndWritesTheWholeModelsEmbeddings()
    {
        Directory.CreateDirectory(_dir["model"]);
        File.Copy(models.MiniLm.Model, _dir["model/model.onnx"]);
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(40));
        var yaml = Jobs.EmbedSpec(_dir["docs.txt"], "text", _dir["model/model.onnx"], models.MiniLm.Vocab, _dir["whole"], blockRows: 20);
        var wholeSpec = JobSpecParser.Parse(yaml, "job.yaml", []);
        await JobRunner.RunAsync(wholeSpec, wholeSpec.Dataset(), null, quiet: true, CancellationToken.None);

        // Devices large enough: auto leaves the model whole.
        var bigSpec = JobSpecParser.Parse(yaml, "job.yaml", ["execution.sim_gpus=2", "execution.sim_gpu_memory=1GiB", "stages.embed.partition=auto"]);
        Assert.Contains("embed (OnnxProcessor)", JobExecution.Explain(bigSpec.Dataset(), bigSpec.Sink(), bigSpec.Options()));

        // Explain plans the cut in memory and writes nothing: the cache is made when the job starts.
        var explained = JobSpecParser.Parse(yaml, "job.yaml", new SpecOptions { Overrides = [.. SmallGpus, "stages.embed.partition=auto"], Prepare = false });
        Assert.Contains("embed.1", JobExecution.Explain(explained.Dataset(), explained.Sink(), explained.Options()));
        Assert.False(Directory.Exists(_dir["model/.partitions"]), "explain wrote a partition cache");

        // 64 MiB devices: 2 stages fit, and auto takes 2, not more.
        var spec = JobSpecParser.Parse(yaml, "job.yaml", [.. SmallGpus, $"write.path={_dir["split"]}", "stages.embed.partition=auto"]);
        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);
        Assert.Equal(["embed.0", "embed.1"], stats.Operators.Where(o => o.Name.StartsWith("embed", StringComparison.Ordinal)).Select(o => o.Name));
        Assert.All(Directory.GetFiles(_dir["model/.partitions"], "stage*.onnx", SearchOption.AllDirectories), f => Assert.True(new FileInfo(f).Length <= 64L << 20, f));

        await AssertSameEmbeddingsAsync(_dir["whole"], _dir["split"]);
    }

    [Fact]
    public async Task Run_TensorParallelTwo_WritesTheWholeModelsEmbeddings()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(30));
        var yaml = Jobs.EmbedSpec(_dir["docs.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["whole"], blockRows: 16);
        var wholeSpec = JobSpecParser.Parse(yaml, "job.yaml", []);
        await JobRunner.RunAsync(wholeSpec, wholeSpec.Dataset(), null, quiet: true, CancellationToken.None);

        // Two simulated GPUs per actor: the shards run on the CPU, each holding its device.
        var spec = JobSpecParser.Parse(yaml, "job.yaml",
            [$"write.path={_dir["tp"]}", "stages.embed.tensor_parallel=2", "execution.sim_gpus=2", "stages.embed.resources.gpus=2", "stages.embed.resources.cpus=1", "stages.embed.pool.max=1"]);
        await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);

        await AssertSameEmbeddingsAsync(_dir["whole"], _dir["tp"]);
    }

    [Fact]
    public void Parse_PartitionAutoWithoutDeviceMemory_SaysWhatToGive()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(5));
        var yaml = Jobs.EmbedSpec(_dir["docs.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]);
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(yaml, "job.yaml", ["execution.sim_gpus=2", "stages.embed.partition=auto"]));
        var error = Assert.Single(e.Errors);
        Assert.Equal(("stages[1].partition", "auto"), (error.Field, error.Value));
        Assert.StartsWith("needs the memory of a GPU", error.Accepted, StringComparison.Ordinal);
        Assert.Contains("execution.sim_gpu_memory", error.Accepted, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PartitionWithBothOrNeither_IsRefusedNamingTheField()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(5));
        var yaml = Jobs.EmbedSpec(_dir["docs.txt"], "text", models.MiniLm.Model, models.MiniLm.Vocab, _dir["out"]);
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(yaml, "job.yaml", ["stages.embed.partition.balance=params"]));
        Assert.Contains("stages[1].partition: give exactly one of stages", Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void Parse_PartsWhosePoolMinimumsDoNotFitTogether_AreRefusedNamingThePartsPoolMin()
    {
        File.WriteAllLines(_dir["docs.txt"], Jobs.Lines(5));
        var yaml = $$"""
            read: { format: text, path: {{_dir["docs.txt"]}} }
            stages:
              - { name: tokenize, op: bert_tokenize, vocab: {{models.MiniLm.Vocab}} }
              - name: embed
                op: onnx
                model: {{models.MiniLm.Model}}
                resources: { gpus: 1 }
                partition:
                  stages: 2
                  parts: [ { pool: { min: 2, max: 2 } }, { pool: { min: 1, max: 1 } } ]
            write: { format: parquet, path: {{_dir["out"]}} }
            execution: { sim_gpus: 2 }
            """;
        // As explain binds it: the cut is planned in memory, nothing is written beside the shared model.
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(yaml, "job.yaml", new SpecOptions { Prepare = false }));
        var error = Assert.Single(e.Errors);
        Assert.Equal("stages[1].partition.parts[1].pool.min", error.Field);
        Assert.Contains("stage 'embed.1' needs 1 actors of gpus=1 at once, but only 0 fit", error.Accepted, StringComparison.Ordinal);
        Assert.Equal(2, JobSpecParser.Parse(yaml, "job.yaml", new SpecOptions { Prepare = false, Overrides = ["execution.sim_gpus=3"] }).Stages.Count);
    }
}
