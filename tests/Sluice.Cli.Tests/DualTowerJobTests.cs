using Apache.Arrow;
using Sluice.Cli.Commands;
using Sluice.Jobs;
using Sluice.Execution;
using Sluice.Inference;
using Sluice.IO;
using Xunit.Abstractions;

namespace Sluice.Cli.Tests;

/// <summary>
/// The issue 5 case study, run from examples/dual-tower.yaml itself: the dual-tower model over (image, caption) pairs
/// written as files (JPEG and PNG images of varied sizes, a captions.jsonl naming them), decoded by image_preprocess,
/// 3 pipeline stages with different resources on simulated GPUs too small for the whole model; its output equals the
/// whole model's.
/// </summary>
[Collection(ResNet18Collection.Name)]
public sealed class DualTowerJobTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Example() => Repo.File("examples/dual-tower.yaml");

    private static async Task<Dictionary<long, (float[] Image, float[] Text)>> ReadAsync(string dir)
    {
        var rows = new Dictionary<long, (float[], float[])>();
        await foreach (var batch in Read.Parquet(dir).IterateBatchesAsync())
        {
            Assert.Equal(["id", "image_path", "caption", "image_embedding", "text_embedding"], batch.Schema.FieldsList.Select(f => f.Name));
            var ids = (Int64Array)batch.Column("id");
            var image = (FixedSizeListArray)batch.Column("image_embedding");
            var text = (FixedSizeListArray)batch.Column("text_embedding");
            for (var i = 0; i < batch.Length; i++)
                rows[ids.GetValue(i)!.Value] = (((FloatArray)image.GetSlicedValues(i)).Values.ToArray(), ((FloatArray)text.GetSlicedValues(i)).Values.ToArray());
        }
        return rows;
    }

    [Fact]
    public async Task Run_ExampleDualTowerJob_ThreeStagesWithTheirOwnResourcesWriteWhatTheWholeModelDoes()
    {
        var model = PackagedModels.ExportDualTower(_dir["model"]);
        await DemoData.WritePairsAsync(_dir["pairs"], 40, CancellationToken.None);
        var images = Directory.GetFiles(Path.Combine(_dir["pairs"], "images"));
        Assert.Equal(40, images.Length);
        Assert.Equal(27, images.Count(f => f.EndsWith(".jpg", StringComparison.Ordinal)));
        Assert.Equal(13, images.Count(f => f.EndsWith(".png", StringComparison.Ordinal)));
        var sizes = (await Read.Images(Path.Combine(_dir["pairs"], "images")).TakeAsync(40)).Select(r => $"{r["width"]}x{r["height"]}").ToHashSet();
        Assert.True(sizes.Count > 20, $"the demo's images should vary in size; {sizes.Count} sizes");
        string[] paths = [$"read.path={Path.Combine(_dir["pairs"], "captions.jsonl")}", $"stages.decode.root={_dir["pairs"]}", $"stages.tokenize.vocab={model.Vocab}", $"stages.towers.model={model.Model}"];

        // Refused whole on the example's 80 MiB devices, with what to do.
        var tooBig = JobSpecParser.ParseFile(Example(), [.. paths, $"write.path={_dir["refused"]}", "stages.towers.partition=none"]);
        var refused = await Assert.ThrowsAnyAsync<SluiceException>(() => JobRunner.RunAsync(tooBig, tooBig.Dataset(), null, quiet: true, CancellationToken.None));
        output.WriteLine(refused.Message);
        Assert.Contains("the largest GPU has 80 MiB", refused.Message);

        // Whole, on devices large enough.
        var whole = JobSpecParser.ParseFile(Example(), [.. paths, $"write.path={_dir["whole"]}", "execution.sim_gpu_memory=1GiB", "stages.towers.partition=none"]);
        await JobRunner.RunAsync(whole, whole.Dataset(), null, quiet: true, CancellationToken.None);

        // The example as it is: 3 stages, their own resources.
        var spec = JobSpecParser.ParseFile(Example(), [.. paths, $"write.path={_dir["split"]}"]);
        var plan = JobExecution.Explain(spec.Dataset(), spec.Sink(), spec.Options());
        output.WriteLine(plan);
        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);
        var towers = stats.Operators.Where(o => o.Name.StartsWith("towers", StringComparison.Ordinal)).ToList();
        Assert.Equal(["towers.0", "towers.1", "towers.2"], towers.Select(o => o.Name));
        Assert.Contains("towers.0 (OnnxProcessor)  actor pool 1..2", plan);
        Assert.Matches(@"towers\.0 .*per actor gpus=1", plan);
        Assert.Matches(@"towers\.1 .*per actor cpus=0\.25", plan);
        Assert.Matches(@"towers\.2 .*per actor gpus=1", plan);

        var expected = await ReadAsync(_dir["whole"]);
        var got = await ReadAsync(_dir["split"]);
        Assert.Equal(40, got.Count);
        Assert.Equal(expected.Keys.Order(), got.Keys.Order());
        double imageDiff = 0, textDiff = 0;
        foreach (var (id, (image, text)) in expected)
        {
            imageDiff = Math.Max(imageDiff, image.Zip(got[id].Image).Max(p => Math.Abs(p.First - p.Second)));
            textDiff = Math.Max(textDiff, text.Zip(got[id].Text).Max(p => Math.Abs(p.First - p.Second)));
        }
        output.WriteLine($"3 stages vs whole: image embeddings max abs diff {imageDiff:E2}, text embeddings {textDiff:E2}");
        Assert.True(imageDiff <= 1e-4, $"image embeddings differ by {imageDiff}");
        Assert.True(textDiff <= 1e-4, $"text embeddings differ by {textDiff}");
        Assert.Equal(512, expected.First().Value.Image.Length);
        Assert.Equal(384, expected.First().Value.Text.Length);
        // Different pictures, different image embeddings: the decoded files reached the model.
        Assert.True(expected.Values.Select(v => string.Join(',', v.Image.Take(8))).Distinct().Count() > 30, "image embeddings should differ between images");
    }
}
