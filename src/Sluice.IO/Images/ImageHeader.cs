using SkiaSharp;

namespace Sluice.IO.Images;

/// <summary>An encoded image's size from its header alone (no pixels decoded): cheap enough for the reader.</summary>
internal static class ImageHeader
{
    /// <summary>Width and height as displayed (an EXIF rotation of 90° swaps them). Throws naming <paramref name="file"/> when it is not an image.</summary>
    public static (int Width, int Height) Dimensions(byte[] bytes, string file)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec is null)
            throw new BadInputException($"'{file}' is not an image SkiaSharp can read ({bytes.Length} bytes); expected a JPEG, PNG, WebP, GIF or BMP file — remove it or narrow read.path (a glob such as 'photos/**/*.jpg')");
        var info = codec.Info;
        return SwapsAxes(codec.EncodedOrigin) ? (info.Height, info.Width) : (info.Width, info.Height);
    }

    /// <summary>Whether an EXIF orientation turns the image by 90° (the four orientations that transpose).</summary>
    public static bool SwapsAxes(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
}
