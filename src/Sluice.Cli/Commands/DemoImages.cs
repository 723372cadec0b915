using System.Text.Json;
using SkiaSharp;

namespace Sluice.Cli.Commands;

/// <summary>
/// The dual-tower demo's dataset as a user would have it: a folder of photos (JPEG and PNG of varied sizes) and a
/// <c>captions.jsonl</c> naming each image by its path relative to the folder, with its caption. Drawn with SkiaSharp:
/// a gradient background and a shape, and a caption that says what was drawn. Seeded by row, so the same rows give the same files.
/// </summary>
internal static class DemoImages
{
    public const string Captions = "captions.jsonl";
    public const string Images = "images";

    private static readonly (string Name, SKColor Color)[] Colors =
    [
        ("red", new(220, 40, 40)), ("green", new(40, 180, 60)), ("blue", new(40, 70, 220)), ("yellow", new(235, 210, 40)),
        ("white", new(245, 245, 245)), ("black", new(15, 15, 15)), ("purple", new(140, 50, 170)), ("orange", new(240, 140, 30)),
    ];

    private static readonly string[] Shapes = ["circle", "square", "ring", "cross", "diamond"];

    /// <summary>Writes <paramref name="rows"/> images under <c>dir/images</c> and <c>dir/captions.jsonl</c>, replacing what was there.</summary>
    public static async Task WriteAsync(string dir, int rows, CancellationToken ct)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(Path.Combine(dir, Images));
        using var captions = File.Create(Path.Combine(dir, Captions));
        using var json = new Utf8JsonWriter(captions);
        for (var id = 0; id < rows; id++)
        {
            ct.ThrowIfCancellationRequested();
            // Every third image a PNG, the rest JPEG, as a phone's and a screenshot tool's files mix in one folder.
            var (format, extension) = id % 3 == 2 ? (SKEncodedImageFormat.Png, "png") : (SKEncodedImageFormat.Jpeg, "jpg");
            var name = $"{Images}/pair-{id:D4}.{extension}";
            var (bytes, caption) = Draw(id, format);
            await File.WriteAllBytesAsync(Path.Combine(dir, name), bytes, ct).ConfigureAwait(false);
            json.WriteStartObject();
            json.WriteNumber("id", id);
            json.WriteString("image_path", name);
            json.WriteString("caption", caption);
            json.WriteEndObject();
            await json.FlushAsync(ct).ConfigureAwait(false);
            json.Reset();
            captions.WriteByte((byte)'\n');
        }
    }

    private static (byte[] Bytes, string Caption) Draw(int id, SKEncodedImageFormat format)
    {
        var random = new Random(id * 7919 + 17);
        var fg = Colors[random.Next(Colors.Length)];
        var bg = Colors[random.Next(Colors.Length)];
        while (bg.Name == fg.Name) bg = Colors[random.Next(Colors.Length)];
        var shape = Shapes[random.Next(Shapes.Length)];
        // Landscape and portrait, 160..640 px: the preprocessing's resize and centre crop have work to do.
        var (w, h) = random.Next(2) == 0 ? (random.Next(240, 641), random.Next(160, 481)) : (random.Next(160, 481), random.Next(240, 641));
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            using var background = new SKPaint();
            background.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(w, h), [bg.Color, Darker(bg.Color)], SKShaderTileMode.Clamp);
            canvas.DrawRect(0, 0, w, h, background);
            using var paint = new SKPaint { Color = fg.Color, IsAntialias = true };
            var (cx, cy, r) = (w / 2f + random.Next(-w / 8, w / 8), h / 2f + random.Next(-h / 8, h / 8), Math.Min(w, h) * (0.2f + (float)random.NextDouble() * 0.15f));
            switch (shape)
            {
                case "circle": canvas.DrawCircle(cx, cy, r, paint); break;
                case "square": canvas.DrawRect(cx - r, cy - r, 2 * r, 2 * r, paint); break;
                case "ring":
                    paint.Style = SKPaintStyle.Stroke;
                    paint.StrokeWidth = r / 3;
                    canvas.DrawCircle(cx, cy, r * 0.8f, paint);
                    break;
                case "cross":
                    canvas.DrawRect(cx - r / 4, cy - r, r / 2, 2 * r, paint);
                    canvas.DrawRect(cx - r, cy - r / 4, 2 * r, r / 2, paint);
                    break;
                default:
                    canvas.Save();
                    canvas.RotateDegrees(45, cx, cy);
                    canvas.DrawRect(cx - r * 0.7f, cy - r * 0.7f, r * 1.4f, r * 1.4f, paint);
                    canvas.Restore();
                    break;
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        return (data.ToArray(), $"a {fg.Name} {shape} on a {bg.Name} background");
    }

    private static SKColor Darker(SKColor c) => new((byte)(c.Red * 0.6), (byte)(c.Green * 0.6), (byte)(c.Blue * 0.6));
}
