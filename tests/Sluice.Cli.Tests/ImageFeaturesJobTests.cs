using Apache.Arrow;
using SkiaSharp;
using Sluice.Cli.Commands;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Inference;
using Sluice.IO;
using Sluice.Jobs;
using Sluice.Tests.Shared;
using Xunit.Abstractions;

namespace Sluice.Cli.Tests;

/// <summary>
/// examples/image-features.yaml on real files: a folder of JPEGs at several depths read with <c>format: images</c> and a
/// <c>**</c> glob, decoded by image_preprocess, embedded by ResNet18; a file that is not an image, or one cut short, stops
/// the job with an error naming it.
/// </summary>
[Collection(ResNet18Collection.Name)]
public sealed class ImageFeaturesJobTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Photo(string name, byte[] bytes)
    {
        var path = _dir[Path.Combine("photos", name)];
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private JobSpec Spec(string model, string @out) => JobSpecParser.ParseFile(Repo.File("examples/image-features.yaml"),
        [$"read.path={_dir["photos"]}/**/*.jpg", $"stages.resnet18.model={model}", $"write.path={_dir[@out]}"]);

    [Fact]
    public async Task Run_ExampleOnNestedJpegs_OneEmbeddingPerFileSameImageSameVector()
    {
        var model = PackagedModels.ExportResNet18(_dir["model"]);
        var circle = TestImages.Encode(640, 480, SKEncodedImageFormat.Jpeg, c =>
        {
            c.Clear(TestImages.Blue);
            using var paint = new SKPaint { Color = TestImages.Red, IsAntialias = true };
            c.DrawCircle(320, 240, 150, paint);
        });
        var a = Photo("2023/trip/a.jpg", circle);
        var b = Photo("2024/b.jpg", circle);
        var c = Photo("2024/c.jpg", TestImages.Bands(300, 500, SKEncodedImageFormat.Jpeg, TestImages.Green, TestImages.White));
        Photo("2024/.thumbs/skip.jpg", [1, 2, 3]);
        Photo("2024/notes.txt", "not an image"u8.ToArray());

        var spec = Spec(model.Model, "out");
        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), WriteMode.Overwrite, quiet: true, CancellationToken.None);

        var rows = new Dictionary<string, float[]>();
        await foreach (var batch in Read.Parquet(_dir["out"]).IterateBatchesAsync())
        {
            Assert.Equal(["path", "size", "width", "height", "image_embedding"], batch.Schema.FieldsList.Select(f => f.Name));
            var paths = (StringArray)batch.Column("path");
            var vectors = (FixedSizeListArray)batch.Column("image_embedding");
            for (var i = 0; i < batch.Length; i++) rows[paths.GetString(i)] = ((FloatArray)vectors.GetSlicedValues(i)).Values.ToArray();
        }
        Assert.Equal(new[] { a, b, c }.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        Assert.All(rows.Values, v => Assert.Equal(512, v.Length));
        var same = rows[a].Zip(rows[b]).Max(p => Math.Abs(p.First - p.Second));
        var different = rows[a].Zip(rows[c]).Max(p => Math.Abs(p.First - p.Second));
        output.WriteLine($"same picture in two folders: max abs diff {same:E2}; different pictures: {different:E2}; operators: {string.Join(", ", stats.Operators.Select(o => $"{o.Name} {o.RowsOut} rows"))}");
        Assert.Equal(0, same);
        Assert.True(different > 0.1, $"different pictures should give different features; max abs diff {different}");
    }

    [Fact]
    public async Task Run_NotAnImageOrTruncated_JobFailsNamingTheFile()
    {
        var model = PackagedModels.ExportResNet18(_dir["model"]);
        Photo("a.jpg", TestImages.Solid(64, 64, TestImages.Red, SKEncodedImageFormat.Jpeg));
        var notImage = Photo("b.jpg", "<html>a page saved as .jpg</html>"u8.ToArray());

        var spec = Spec(model.Model, "out1");
        var e1 = await Assert.ThrowsAnyAsync<SluiceException>(() => JobRunner.RunAsync(spec, spec.Dataset(), WriteMode.Overwrite, quiet: true, CancellationToken.None));

        File.Delete(notImage);
        var whole = TestImages.Bands(800, 600, SKEncodedImageFormat.Jpeg, TestImages.Red, TestImages.Green, TestImages.Blue);
        var cut = Photo("c.jpg", whole.AsSpan(0, whole.Length / 3).ToArray());
        spec = Spec(model.Model, "out2");
        var e2 = await Assert.ThrowsAnyAsync<SluiceException>(() => JobRunner.RunAsync(spec, spec.Dataset(), WriteMode.Overwrite, quiet: true, CancellationToken.None));

        output.WriteLine(e1.Message);
        output.WriteLine(e2.Message);
        Assert.Contains($"'{notImage}' is not an image", e1.Message);
        Assert.Contains($"'{cut}'", e2.Message);
        Assert.Contains("ends early", e2.Message);
        Assert.False(File.Exists(Path.Combine(_dir["out2"], "_SUCCESS")));
    }

    [Fact]
    public async Task Run_TruncatedImageWithOnErrorDeadLetter_OtherImagesEmbedded_TheCutOneInErrors()
    {
        var model = PackagedModels.ExportResNet18(_dir["model"]);
        var good = Enumerable.Range(0, 5).Select(i => Photo($"p{i}.jpg", TestImages.Solid(64 + i, 64, TestImages.Red, SKEncodedImageFormat.Jpeg))).ToList();
        var whole = TestImages.Bands(800, 600, SKEncodedImageFormat.Jpeg, TestImages.Red, TestImages.Green, TestImages.Blue);
        var cut = Photo("p9-cut.jpg", whole.AsSpan(0, whole.Length / 3).ToArray());

        var spec = JobSpecParser.ParseFile(Repo.File("examples/image-features.yaml"),
            [$"read.path={_dir["photos"]}/**/*.jpg", $"stages.resnet18.model={model.Model}", $"write.path={_dir["out"]}", "stages.decode.on_error=dead_letter"]);
        await JobRunner.RunAsync(spec, spec.Dataset(), WriteMode.Overwrite, quiet: true, CancellationToken.None);

        var paths = new List<string>();
        await foreach (var batch in Read.Parquet(_dir["out"]).IterateBatchesAsync())
        {
            var column = (StringArray)batch.Column("path");
            for (var i = 0; i < batch.Length; i++) paths.Add(column.GetString(i));
        }
        Assert.Equal(good.Order(StringComparer.Ordinal), paths.Order(StringComparer.Ordinal));
        var letters = Directory.GetFiles(_dir["out/_errors"], "*.jsonl").SelectMany(File.ReadAllLines).ToList();
        var letter = Assert.Single(letters);
        output.WriteLine(letter);
        Assert.Contains("\"stage\":\"decode\"", letter, StringComparison.Ordinal);
        Assert.Contains("ends early", letter, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(cut), letter, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir["out"], "_SUCCESS")));
    }
}
