using System.Runtime.InteropServices;
using SkiaSharp;

namespace Sluice.Inference.Images;

/// <summary>
/// Decodes one encoded image into a square of RGB bytes (interleaved, size × size × 3), as displayed: the EXIF
/// orientation applied, then resized and cropped. Throws <see cref="ImageDecodeException"/> with the reason.
/// </summary>
internal static class ImageDecoder
{
    // Bilinear: scaled decode leaves at most 2x to shrink for JPEG, where bilinear is exact enough. A PNG or WebP of
    // 4000 px shrinks 18x, where bilinear alone would alias: past 2x, mipmaps (which cost ~1.5x the resize; measured by
    // `Sluice.Bench images`). Fixed choices, so that offline and online runs agree.
    private const double MipmapsAbove = 2.0;
    private static readonly SKSamplingOptions Bilinear = new(SKFilterMode.Linear, SKMipmapMode.None);
    private static readonly SKSamplingOptions Mipmapped = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    public static byte[] DecodeSquare(byte[] encoded, int size, ImageResize resize)
    {
        // SKData, not a managed stream: the codec then reads native memory without calling back into .NET.
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw new ImageDecodeException($"not an image SkiaSharp can read ({encoded.Length} bytes); expected JPEG, PNG, WebP, GIF or BMP");
        var origin = codec.EncodedOrigin;
        var transposed = SwapsAxes(origin);
        var stored = codec.Info;

        // The size the stored (unrotated) image is resized to; its displayed sides are these, swapped when transposed.
        var (shownW, shownH) = transposed ? (stored.Height, stored.Width) : (stored.Width, stored.Height);
        var (targetShownW, targetShownH) = Target(shownW, shownH, size, resize);
        var (targetW, targetH) = transposed ? (targetShownH, targetShownW) : (targetShownW, targetShownH);

        using var decoded = Decode(codec, stored, targetW, targetH);
        var sampling = Math.Max((double)decoded.Width / targetW, (double)decoded.Height / targetH) > MipmapsAbove ? Mipmapped : Bilinear;
        using var resized = decoded.Width == targetW && decoded.Height == targetH ? null : decoded.Resize(new SKImageInfo(targetW, targetH, SKColorType.Rgba8888, SKAlphaType.Premul), sampling)
            ?? throw new ImageDecodeException($"could not resize {decoded.Width}x{decoded.Height} to {targetW}x{targetH}");
        var source = resized ?? decoded;
        return Crop(source, origin, targetShownW, targetShownH, size);
    }

    /// <summary>The displayed size to resize to: the shorter side to <paramref name="size"/> (at least size on both), or both sides.</summary>
    private static (int W, int H) Target(int w, int h, int size, ImageResize resize)
    {
        if (resize == ImageResize.Stretch) return (size, size);
        return w <= h
            ? (size, Math.Max(size, (int)Math.Round((double)h * size / w)))
            : (Math.Max(size, (int)Math.Round((double)w * size / h)), size);
    }

    /// <summary>
    /// The pixels, decoded at the smallest scale the codec offers that still covers the target (JPEG: 1/8..1 in the DCT
    /// domain, ~2x faster from 1080p than a full decode and a resize; DESIGN.md §5). Opaque images are decoded as such.
    /// </summary>
    private static SKBitmap Decode(SKCodec codec, SKImageInfo stored, int targetW, int targetH)
    {
        var scale = Math.Max((float)targetW / stored.Width, (float)targetH / stored.Height);
        var dims = scale < 1 ? codec.GetScaledDimensions(scale) : stored.Size;
        if (dims.Width < targetW || dims.Height < targetH) dims = stored.Size;
        var info = new SKImageInfo(dims.Width, dims.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new ImageDecodeException(result == SKCodecResult.IncompleteInput
                ? $"the image data ends early (a truncated or partly written file; {stored.Width}x{stored.Height} declared)"
                : $"decoding failed ({result})");
        }
        return bitmap;
    }

    /// <summary>The centre size × size square of the displayed image, read from the stored pixels through the EXIF orientation.</summary>
    private static byte[] Crop(SKBitmap source, SKEncodedOrigin origin, int shownW, int shownH, int size)
    {
        var w = source.Width;
        var h = source.Height;
        var pixels = MemoryMarshal.Cast<byte, uint>(source.GetPixelSpan());
        var rowBytes = source.RowBytes / 4;
        var (x0, y0) = ((shownW - size) / 2, (shownH - size) / 2);
        var rgb = new byte[size * size * 3];
        var o = 0;
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var (sx, sy) = Stored(origin, x + x0, y + y0, w, h);
                // Rgba8888 is R, G, B, A in memory order; little-endian uint reads it as 0xAABBGGRR.
                var p = pixels[sy * rowBytes + sx];
                rgb[o++] = (byte)p;
                rgb[o++] = (byte)(p >> 8);
                rgb[o++] = (byte)(p >> 16);
            }
        }
        return rgb;
    }

    /// <summary>Whether an EXIF orientation turns the image by 90° (the four that transpose): displayed width is the stored height.</summary>
    internal static bool SwapsAxes(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    /// <summary>
    /// Where displayed pixel (x, y) is stored, for an image stored <paramref name="w"/> × <paramref name="h"/> (EXIF 2.3
    /// orientation tags 1..8: which stored side is the displayed top and left).
    /// </summary>
    internal static (int X, int Y) Stored(SKEncodedOrigin origin, int x, int y, int w, int h) => origin switch
    {
        SKEncodedOrigin.TopRight => (w - 1 - x, y),
        SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
        SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
        SKEncodedOrigin.LeftTop => (y, x),
        SKEncodedOrigin.RightTop => (y, h - 1 - x),
        SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
        SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
        _ => (x, y),
    };
}

/// <summary>Why one image could not be decoded; the processor adds the row and the file.</summary>
internal sealed class ImageDecodeException(string message) : Exception(message);
