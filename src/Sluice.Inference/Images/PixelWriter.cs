using Apache.Arrow;

namespace Sluice.Inference.Images;

/// <summary>Writes decoded RGB squares into one tensor column: channel order, layout, normalization and element type.</summary>
internal sealed class PixelWriter
{
    private const int Channels = 3;
    private readonly ImagePreprocessOptions _options;
    private readonly int _rows;
    private readonly int _plane;
    private readonly float[]? _floats;
    private readonly byte[]? _bytes;
    private readonly float[] _scale = new float[Channels];
    private readonly float[] _offset = new float[Channels];

    public PixelWriter(ImagePreprocessOptions options, int rows)
    {
        _options = options;
        _rows = rows;
        _plane = options.Size * options.Size;
        if (options.Dtype == PixelType.Bytes) _bytes = new byte[rows * Channels * _plane];
        else _floats = new float[rows * Channels * _plane];
        // value' = value * scale + offset per RGB channel: (v / 255 - mean) / std = v / (255 std) - mean / std.
        for (var c = 0; c < Channels; c++)
        {
            (_scale[c], _offset[c]) = options.Normalize switch
            {
                PixelNormalize.ImageNet => (1f / (255f * ImagePreprocessOptions.ImageNetStd[c]), -ImagePreprocessOptions.ImageNetMean[c] / ImagePreprocessOptions.ImageNetStd[c]),
                PixelNormalize.Unit => (1f / 255f, 0f),
                _ => (1f, 0f),
            };
        }
    }

    /// <summary>Row <paramref name="row"/> from interleaved RGB bytes (size × size × 3).</summary>
    public void Write(int row, ReadOnlySpan<byte> rgb)
    {
        var baseIndex = row * Channels * _plane;
        var bgr = _options.ChannelOrder == ChannelOrder.Bgr;
        var nchw = _options.Layout == PixelLayout.Nchw;
        for (var p = 0; p < _plane; p++)
        {
            for (var c = 0; c < Channels; c++)
            {
                var outChannel = bgr ? Channels - 1 - c : c;
                var index = baseIndex + (nchw ? outChannel * _plane + p : p * Channels + outChannel);
                var value = rgb[p * Channels + c];
                if (_bytes is not null) _bytes[index] = value;
                else _floats![index] = value * _scale[c] + _offset[c];
            }
        }
    }

    public (Field Field, FixedSizeListArray Array) Build()
    {
        var size = _options.Size;
        int[] shape = _options.Layout == PixelLayout.Nchw ? [Channels, size, size] : [size, size, Channels];
        return _bytes is not null
            ? TensorColumns.Create(_options.Output, _bytes, _rows, shape)
            : TensorColumns.Create(_options.Output, _floats!, _rows, shape);
    }
}
