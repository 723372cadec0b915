using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SkiaSharp;
using Sluice.Tests.Shared;

namespace Sluice.Service.Tests;

/// <summary>
/// Paths that the data names (<c>image_preprocess</c>'s <c>path_column</c>), submitted over HTTP to a real service in this
/// process: taken only with a <c>root</c> under the service's roots, so the rows of an input never choose the server's files.
/// </summary>
public sealed class DataPathsApiTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A captions file naming image files, decoded to 8×8 uint8 RGB; <paramref name="root"/> null leaves it out.</summary>
    private string CaptionsJob(string captions, string? root, string output) => $$"""
        name: captions
        read: { format: jsonl, path: {{captions}} }
        stages:
          - { name: decode, op: image_preprocess, path_column: image_path, {{(root is null ? "" : $"root: {root}, ")}}size: 8, output: image, dtype: uint8, normalize: none }
        write: { format: jsonl, path: {{output}} }
        """;

    /// <summary>Real image files under <paramref name="directory"/>, each of one colour.</summary>
    private static void WriteImages(string directory, params (string File, SKColor Color, SKEncodedImageFormat Format)[] images)
    {
        foreach (var (file, color, format) in images)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(directory, file))!);
            File.WriteAllBytes(Path.Combine(directory, file), TestImages.Solid(24, 16, color, format));
        }
    }

    /// <summary>A captions file (JSON Lines) whose rows name <paramref name="paths"/> in <c>image_path</c>.</summary>
    private static string WriteCaptions(string file, params string[] paths)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllLines(file, paths.Select(p => JsonSerializer.Serialize(new { image_path = p, caption = $"a picture: {p}" })));
        return file;
    }

    private static async Task<JsonElement> OnlyErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        return Assert.Single(problem.GetProperty("errors").EnumerateArray().ToList());
    }

    private static async Task AssertNoJobAsync(HttpClient http) =>
        Assert.Empty((await http.GetFromJsonAsync<JsonElement>("api/jobs")).EnumerateArray());

    [Fact]
    public async Task Submit_PathColumnWithoutRoot_Is400NamingTheStagesRootAndNothingRuns()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var http = host.Client();
        // The captions are under the service's roots; the images they name are not (what a job without a root could read).
        var elsewhere = _dir.Dir("elsewhere");
        WriteImages(elsewhere, ("secret.png", TestImages.Red, SKEncodedImageFormat.Png));
        var captions = WriteCaptions(_dir["root/data/captions.jsonl"], Path.Combine(elsewhere, "secret.png"));

        var error = await OnlyErrorAsync(await JobsApi.SubmitAsync(http, CaptionsJob(captions, root: null, _dir["root/out"])));

        Assert.Equal("stages[0].root", error.GetProperty("field").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("value").ValueKind);
        var accepted = error.GetProperty("accepted").GetString()!;
        Assert.Contains("with stages[0].path_column (column 'image_path' names files to read", accepted);
        Assert.Contains("give stages[0].root, a directory the paths in the column are relative to", accepted);
        Assert.Contains(host.Root, accepted);
        Assert.Equal("spec line 4", error.GetProperty("where").GetString());
        await AssertNoJobAsync(http);
        Assert.False(Directory.Exists(_dir["root/out"]));
    }

    [Fact]
    public async Task Submit_RootOutsideTheServiceRoots_Is400NamingRootAndWhereItResolves()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var http = host.Client();
        var elsewhere = _dir.Dir("elsewhere");
        WriteImages(elsewhere, ("a.png", TestImages.Red, SKEncodedImageFormat.Png));
        var captions = WriteCaptions(_dir["root/data/captions.jsonl"], "a.png");
        // A link under a root that leads out of it is outside as well: roots are judged where they really are.
        Directory.CreateSymbolicLink(_dir["root/link-out"], elsewhere);

        foreach (var root in new[] { elsewhere, _dir["root/../elsewhere"], _dir["root/link-out"] })
        {
            var error = await OnlyErrorAsync(await JobsApi.SubmitAsync(http, CaptionsJob(captions, root, _dir["root/out"])));

            Assert.Equal("stages[0].root", error.GetProperty("field").GetString());
            Assert.Equal(root, error.GetProperty("value").GetString());
            Assert.Contains($"it resolves to {elsewhere}, outside the service's roots", error.GetProperty("accepted").GetString());
            Assert.Contains(host.Root, error.GetProperty("accepted").GetString());
            Assert.Equal("spec line 4", error.GetProperty("where").GetString());
        }
        await AssertNoJobAsync(http);
        Assert.False(Directory.Exists(_dir["root/out"]));
    }

    [Fact]
    public async Task Submit_RootUnderTheServiceRoots_RunsAndDecodesEachNamedFile()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var http = host.Client();
        (string File, SKColor Color, SKEncodedImageFormat Format)[] images =
        [
            ("photos/red.png", TestImages.Red, SKEncodedImageFormat.Png),
            ("photos/green.webp", TestImages.Green, SKEncodedImageFormat.Webp),
            ("photos/blue.jpg", TestImages.Blue, SKEncodedImageFormat.Jpeg),
            ("photos/more/white.png", TestImages.White, SKEncodedImageFormat.Png),
        ];
        WriteImages(_dir["root/data"], images);
        var captions = WriteCaptions(_dir["root/data/captions.jsonl"], [.. images.Select(i => i.File)]);

        var id = await JobsApi.SubmitAcceptedAsync(http, CaptionsJob(captions, _dir["root/data"], _dir["root/out"]));
        var done = await JobsApi.WaitForAsync(http, id, j => j.GetProperty("state").GetString() is "succeeded" or "failed");

        Assert.True(done.GetProperty("state").GetString() == "succeeded", done.GetProperty("error").ToString());
        Assert.Equal(images.Length, done.GetProperty("progress").GetProperty("rows_done").GetInt64());
        var rows = Directory.GetFiles(_dir["root/out"], "part-*.jsonl").SelectMany(File.ReadLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(images.Select(i => i.File).Order(), rows.Select(r => r.GetProperty("image_path").GetString()).Order());
        foreach (var row in rows)
        {
            var (file, color, _) = images.Single(i => i.File == row.GetProperty("image_path").GetString());
            var pixels = Numbers(row.GetProperty("image")).ToList();
            Assert.Equal(3 * 8 * 8, pixels.Count);
            // NCHW: each channel's 64 values are that channel of the file's colour (JPEG within a small tolerance).
            byte[] expected = [color.Red, color.Green, color.Blue];
            for (var c = 0; c < 3; c++)
                Assert.True(pixels.Skip(c * 64).Take(64).All(v => Math.Abs(v - expected[c]) <= 8), $"{file}: channel {c} is not {expected[c]}: {string.Join(",", pixels.Skip(c * 64).Take(8))}");
        }
    }

    [Fact]
    public async Task Run_PathThroughASymlinkOutOfRoot_FailsNamingTheRowAndPathAndReadsNothingOutside()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var http = host.Client();
        var elsewhere = _dir.Dir("elsewhere");
        WriteImages(elsewhere, ("secret.png", TestImages.Red, SKEncodedImageFormat.Png));
        WriteImages(_dir["root/data"], ("ok.png", TestImages.Green, SKEncodedImageFormat.Png));
        // A link placed under the root (by whoever writes there) that points out of it: the stage does not follow it out.
        File.CreateSymbolicLink(_dir["root/data/link.png"], Path.Combine(elsewhere, "secret.png"));
        var captions = WriteCaptions(_dir["root/data/captions.jsonl"], "ok.png", "link.png");

        var id = await JobsApi.SubmitAcceptedAsync(http, CaptionsJob(captions, _dir["root/data"], _dir["root/out"]));
        var done = await JobsApi.WaitForAsync(http, id, j => j.GetProperty("state").GetString() is "succeeded" or "failed");

        Assert.Equal("failed", done.GetProperty("state").GetString());
        var error = done.GetProperty("error").GetString()!;
        Assert.Contains("row 1: image path 'link.png' in column 'image_path' leads outside root", error);
        Assert.Contains("through a symbolic link", error);
        Assert.Contains(Path.Combine(elsewhere, "secret.png"), error);
        var written = Directory.Exists(_dir["root/out"]) ? Directory.GetFiles(_dir["root/out"], "part-*.jsonl").SelectMany(File.ReadLines).ToList() : [];
        Assert.DoesNotContain(written, l => l.Contains("link.png", StringComparison.Ordinal));
    }

    private static IEnumerable<double> Numbers(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().SelectMany(Numbers) : [value.GetDouble()];
}
