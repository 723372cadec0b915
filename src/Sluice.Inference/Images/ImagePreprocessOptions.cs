using System.Globalization;
using System.Text.Json.Serialization;
using Sluice.Contracts;

namespace Sluice.Inference;

/// <summary>How an image becomes the model's square input.</summary>
public enum ImageResize
{
    /// <summary>Scale the shorter side to the size, then cut the centre square (torchvision's Resize + CenterCrop).</summary>
    CenterCrop,

    /// <summary>Scale both sides to the size, ignoring the aspect ratio.</summary>
    Stretch,
}

/// <summary>What the pixel values become.</summary>
public enum PixelNormalize
{
    /// <summary>(value / 255 − mean) / std with ImageNet's mean and std (<see cref="ImagePreprocessOptions.ImageNetMean"/>).</summary>
    [JsonStringEnumMemberName("imagenet")]
    ImageNet,

    /// <summary>value / 255, in 0..1.</summary>
    Unit,

    /// <summary>The 0..255 values as they are (models that normalize inside, such as the packaged resnet18 and dual-tower).</summary>
    None,
}

/// <summary>The order of the colour channels in the output.</summary>
public enum ChannelOrder
{
    Rgb,
    Bgr,
}

/// <summary>Where the channel axis goes in each row's tensor.</summary>
public enum PixelLayout
{
    /// <summary>[channels, size, size] (PyTorch, ONNX exports of it).</summary>
    Nchw,

    /// <summary>[size, size, channels] (TensorFlow).</summary>
    Nhwc,
}

/// <summary>The output tensor's element type.</summary>
public enum PixelType
{
    /// <summary>32-bit floats (<c>float32</c>).</summary>
    [JsonStringEnumMemberName("float32")]
    Floats,

    /// <summary>The 0..255 values as bytes (<c>uint8</c>), a quarter of the float tensor's size; needs <see cref="PixelNormalize.None"/>.</summary>
    [JsonStringEnumMemberName("uint8")]
    Bytes,
}

/// <summary>
/// How <see cref="ImagePreprocessProcessor"/> turns encoded images into a model's pixel tensor.
/// </summary>
/// <param name="Column">The binary column of encoded images (the <c>images</c> read format's <c>image</c>).</param>
/// <param name="Size">Side of the square output, in pixels.</param>
public sealed record ImagePreprocessOptions(string Column = "image", int Size = 224) : IValidatedOptions
{
    /// <summary>Largest accepted <see cref="Size"/>: 4096² floats × 3 is 192 MiB per row.</summary>
    public const int MaxSize = 4096;

    /// <summary>ImageNet's per-channel mean, RGB, on 0..1 values.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet's per-channel standard deviation, RGB, on 0..1 values.</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// A string column of image file paths to read instead of <see cref="Column"/> (a captions file that names its images).
    /// The files must be readable where the stage runs: on a cluster, a file system every node shares.
    /// </summary>
    [DataPaths(nameof(Root))]
    public string? PathColumn { get; init; }

    /// <summary>
    /// The directory the paths in <see cref="PathColumn"/> are relative to, and confined to: a path that leads out of it
    /// (absolute, <c>..</c>, or through a symbolic link) is refused. Null: the working directory, unconfined.
    /// </summary>
    [DataRoot]
    public string? Root { get; init; }

    public ImageResize Resize { get; init; } = ImageResize.CenterCrop;

    public PixelNormalize Normalize { get; init; } = PixelNormalize.ImageNet;

    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;

    public PixelLayout Layout { get; init; } = PixelLayout.Nchw;

    public PixelType Dtype { get; init; } = PixelType.Floats;

    /// <summary>The tensor column written (replaced when it exists, e.g. <c>image</c> to stand in for the encoded bytes).</summary>
    public string Output { get; init; } = "pixel_values";

    /// <summary>Keep the encoded bytes column (by default it is removed once decoded: it is no use to a model and costs queue bytes).</summary>
    public bool KeepEncoded { get; init; }

    public IEnumerable<OptionError> Problems()
    {
        var inv = CultureInfo.InvariantCulture;
        if (PathColumn is null && string.IsNullOrEmpty(Column)) yield return new(nameof(Column), Column, "give the name of a binary column of encoded images");
        if (PathColumn is { Length: 0 }) yield return new(nameof(PathColumn), PathColumn, "give the name of a string column of image paths, or leave it out to read the binary column");
        if (Size is < 1 or > MaxSize) yield return new(nameof(Size), Size.ToString(inv), $"give 1..{MaxSize} pixels");
        if (string.IsNullOrEmpty(Output)) yield return new(nameof(Output), Output, "give the name of the tensor column to write");
        if (Dtype == PixelType.Bytes && Normalize != PixelNormalize.None)
            yield return new(nameof(Normalize), Normalize == PixelNormalize.ImageNet ? "imagenet" : "unit", "dtype uint8 holds the 0..255 values: set normalize: none, or dtype: float32 to normalize");
    }

    internal void Validate()
    {
        var errors = Problems().Select(p => $"{nameof(ImagePreprocessOptions)}.{p}").ToList();
        if (errors.Count > 0) throw new SluiceException(string.Join("; ", errors));
    }
}
