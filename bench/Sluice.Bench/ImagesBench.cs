using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using SkiaSharp;
using Sluice.Contracts;
using Sluice.Inference;

namespace Sluice.Bench;

/// <summary>
/// image_preprocess on one core against its reference in the same run: a full decode (<c>SKBitmap.Decode</c>) and a
/// bilinear resize to the same 224 square, which is what a decoder without SKCodec's scaled decode does. JPEGs are drawn
/// like photos (gradient, 60 circles, ±12 noise, quality 90) at 1920x1080 and 640x480. Prints img/s and the ratio.
/// </summary>
internal static class ImagesBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var images = Arg(args, "--images", 16);
        var rounds = Arg(args, "--rounds", 3);
        foreach (var (w, h) in new[] { (1920, 1080), (640, 480) })
        {
            var jpegs = Enumerable.Range(0, images).Select(i => Photo(w, h, i)).ToList();
            var batch = Batch(jpegs);
            await using var processor = new ImagePreprocessProcessor(new ImagePreprocessOptions());
            await processor.InitializeAsync(new ProcessorContext("bench", 0, ResourceRequest.OneCpu, []), CancellationToken.None);
            await processor.ProcessAsync(batch, CancellationToken.None); // warm-up (JIT)
            Reference(jpegs);
            double best = 0, bestRef = 0;
            for (var r = 0; r < rounds; r++)
            {
                var sw = Stopwatch.StartNew();
                await processor.ProcessAsync(batch, CancellationToken.None);
                best = Math.Max(best, images / sw.Elapsed.TotalSeconds);
                sw.Restart();
                Reference(jpegs);
                bestRef = Math.Max(bestRef, images / sw.Elapsed.TotalSeconds);
            }
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(inv, $"{w}x{h} JPEG ({jpegs.Average(j => j.Length) / 1024:F0} KiB avg), 1 thread, best of {rounds}: image_preprocess {best:F1} img/s; full decode + resize {bestRef:F1} img/s"));
            Console.WriteLine(string.Create(inv, $"ratio: {best / bestRef:F2}"));
        }
        return 0;
    }

    /// <summary>Full decode, bilinear resize of the shorter side to 224, centre crop, ImageNet-normalized CHW floats.</summary>
    private static void Reference(List<byte[]> jpegs)
    {
        const int size = 224;
        var output = new float[3 * size * size];
        foreach (var jpeg in jpegs)
        {
            using var full = SKBitmap.Decode(jpeg);
            var (rw, rh) = full.Width <= full.Height ? (size, full.Height * size / full.Width) : (full.Width * size / full.Height, size);
            using var resized = full.Resize(new SKImageInfo(rw, rh, SKColorType.Rgba8888, SKAlphaType.Premul), new SKSamplingOptions(SKFilterMode.Linear));
            var (x0, y0) = ((rw - size) / 2, (rh - size) / 2);
            for (var y = 0; y < size; y++)
            {
                for (var x = 0; x < size; x++)
                {
                    var p = resized.GetPixel(x + x0, y + y0);
                    output[y * size + x] = (p.Red / 255f - 0.485f) / 0.229f;
                    output[size * size + y * size + x] = (p.Green / 255f - 0.456f) / 0.224f;
                    output[2 * size * size + y * size + x] = (p.Blue / 255f - 0.406f) / 0.225f;
                }
            }
        }
    }

    private static byte[] Photo(int w, int h, int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            using var bg = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(w, h), [new SKColor(30, 90, 160), new SKColor(220, 180, 90)], SKShaderTileMode.Clamp) };
            canvas.DrawRect(0, 0, w, h, bg);
            using var paint = new SKPaint { IsAntialias = true };
            for (var i = 0; i < 60; i++)
            {
                paint.Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                canvas.DrawCircle(random.Next(w), random.Next(h), random.Next(10, h / 6), paint);
            }
        }
        var pixels = bitmap.GetPixelSpan();
        for (var i = 0; i < pixels.Length; i++)
            if (i % 4 != 3) pixels[i] = (byte)Math.Clamp(pixels[i] + random.Next(-12, 13), 0, 255);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private static RecordBatch Batch(List<byte[]> jpegs)
    {
        var builder = new BinaryArray.Builder();
        foreach (var j in jpegs) builder.Append(j.AsSpan());
        return new RecordBatch(new Schema([new Field("image", BinaryType.Default, false)], null), [builder.Build()], jpegs.Count);
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = System.Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
