using Apache.Arrow;
using Sluice.Cli.Commands;
using Sluice.Execution;
using Sluice.Inference;
using Sluice.Inference.Generation;
using Sluice.IO;
using Sluice.Jobs;
using Xunit.Abstractions;

namespace Sluice.Cli.Tests;

/// <summary>
/// <c>op: generate</c> on a decoder bigger than a simulated GPU: refused before it starts, naming tensor_parallel and
/// max_batch; with <c>tensor_parallel: 2</c> it fits, runs on 2 simulated GPUs and writes what the whole decoder does.
/// </summary>
public sealed class GenerateTensorParallelJobTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Hidden 512, 2 layers: 22.0 MiB of weights; with TP-2 the first device holds 15.5 MiB (its halves of the MLPs and
    /// position table, plus attention, norms and the LM head). Its KV cache at max_batch 4 over the 512-token context is
    /// 16 MiB, so a 34 MiB GPU holds the split decoder (31.5 MiB) and not the whole one (38.0 MiB).
    /// </summary>
    private string Spec(string model, string output, params string[] stage) => $$"""
        name: gen-tp
        read: { format: jsonl, path: {{_dir["q.jsonl"]}}, block_rows: 5 }
        stages:
          - { name: answer, op: generate, model: {{model}}, template: "Q: {question}\nA:", max_new_tokens: 10, max_batch: 4, batch_size: 5{{string.Concat(stage.Select(s => ", " + s))}} }
        write: { format: parquet, path: {{output}} }
        execution: { sim_gpus: 2, sim_gpu_memory: 34MiB }
        """;

    private PackagedModelFiles Setup()
    {
        File.WriteAllLines(_dir["q.jsonl"], Enumerable.Range(0, 15).Select(i => $$"""{"id": {{i}}, "question": "what is {{i}} times {{i % 4}}?"}"""));
        return TinyDecoder.Export(_dir["wide"], shape: new DecoderShape(512, 8, 2));
    }

    [Fact]
    public async Task Run_DecoderAndKvCacheBiggerThanSimulatedGpu_IsRefusedNamingTensorParallel_AndTwoShardsFitAndEqualTheWholeModel()
    {
        var model = Setup();

        var whole = JobSpecParser.Parse(Spec(model.Directory, _dir["refused"], "resources: { gpus: 1 }"), "job.yaml", []);
        var e = await Assert.ThrowsAsync<SluiceException>(() => JobRunner.RunAsync(whole, whole.Dataset(), null, quiet: true, CancellationToken.None));
        output.WriteLine(e.Message);
        Assert.Contains("stage 'answer': each GPU must hold 38 MiB", e.Message);
        Assert.Contains("model weights 22 MiB + KV cache (max_batch 4 x 512 tokens x 2 layers x 2 x 8 kv heads x 64 x 4 B) 16 MiB", e.Message);
        Assert.Contains("the largest GPU has 34 MiB (execution.sim_gpu_memory / --sim-gpu-memory)", e.Message);
        Assert.Contains("lower max_batch (now 4)", e.Message);
        Assert.Contains("tensor_parallel: N (with gpus: N)", e.Message);
        Assert.False(Directory.Exists(_dir["refused"]) && Directory.EnumerateFiles(_dir["refused"], "*.parquet", SearchOption.AllDirectories).Any());

        var split = JobSpecParser.Parse(Spec(model.Directory, _dir["split"], "tensor_parallel: 2", "resources: { gpus: 2, cpus: 1 }", "pool: { max: 1 }"), "job.yaml", []);
        var plan = JobExecution.Explain(split.Dataset(), split.Sink(), split.Options());
        output.WriteLine(plan);
        Assert.Contains("gpus=2 device_memory=31.5MiB", plan);
        var stats = await JobRunner.RunAsync(split, split.Dataset(), null, quiet: true, CancellationToken.None);
        // The actor held both simulated GPUs for each of its Runs.
        Assert.Equal(2, stats.DeviceUtilization.Count);
        Assert.All(stats.DeviceUtilization, u => Assert.True(u > 0, $"device utilization {string.Join(", ", stats.DeviceUtilization)}"));

        // The same job on the CPU with the whole decoder: every row's text is the same.
        var cpu = JobSpecParser.Parse(Spec(model.Directory, _dir["whole"]).Replace("execution: { sim_gpus: 2, sim_gpu_memory: 34MiB }", "", StringComparison.Ordinal), "job.yaml", []);
        await JobRunner.RunAsync(cpu, cpu.Dataset(), null, quiet: true, CancellationToken.None);
        var expected = await TextsAsync(_dir["whole"]);
        Assert.Equal(15, expected.Count);
        Assert.Equal(expected, await TextsAsync(_dir["split"]));
    }

    [Fact]
    public void Parse_PartitionOnGenerate_IsRefusedNamingTensorParallel()
    {
        var model = Setup();
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(model.Directory, _dir["out"], "partition: { stages: 2 }"), "job.yaml", []));
        var error = Assert.Single(e.Errors).ToString();
        output.WriteLine(error);
        Assert.Contains("stages[0].partition", error);
        Assert.Contains("op generate cannot be cut into pipeline stages", error);
        Assert.Contains("tensor_parallel: N", error);
    }

    [Fact]
    public async Task Run_TensorParallelWithFewerGpusThanShardsOrZero_IsRefusedNamingTheField()
    {
        var model = Setup();
        var zero = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(model.Directory, _dir["out"], "tensor_parallel: 0"), "job.yaml", []));
        Assert.Contains(zero.Errors, m => m.ToString().Contains("stages[0].tensor_parallel: '0' is not accepted; give 1 (the decoder whole) or more", StringComparison.Ordinal));

        var oneGpu = JobSpecParser.Parse(Spec(model.Directory, _dir["out"], "tensor_parallel: 2", "resources: { gpus: 1 }"), "job.yaml", []);
        var e = await Assert.ThrowsAsync<SluiceException>(() => JobRunner.RunAsync(oneGpu, oneGpu.Dataset(), null, quiet: true, CancellationToken.None));
        Assert.Contains("stage 'answer': GenerateOptions.TensorParallel is 2 but each actor holds 1 gpus; give the stage gpus: 2", e.Message);
    }

    private static async Task<SortedDictionary<long, string>> TextsAsync(string dir)
    {
        var rows = new SortedDictionary<long, string>();
        await foreach (var batch in Read.Parquet(dir).IterateBatchesAsync())
        {
            var ids = (Int64Array)batch.Column("id");
            var text = (StringArray)batch.Column("generated_text");
            for (var i = 0; i < batch.Length; i++) rows[ids.GetValue(i)!.Value] = text.GetString(i);
        }
        return rows;
    }
}
