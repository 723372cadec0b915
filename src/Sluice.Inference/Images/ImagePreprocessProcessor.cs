using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Inference.Images;

namespace Sluice.Inference;

/// <summary>
/// Decodes encoded images (JPEG, PNG, WebP …) into a model's pixel tensor (<see cref="ImagePreprocessOptions"/>):
/// EXIF orientation applied, shorter side resized to the size and the centre square cut (or stretched), values
/// normalized, channels in RGB or BGR order, NCHW or NHWC.
/// Emits: the input batch plus the tensor column <see cref="ImagePreprocessOptions.Output"/> ([3, size, size] for NCHW),
/// without the encoded bytes column unless <see cref="ImagePreprocessOptions.KeepEncoded"/>.
/// Fails when: the image column is missing or of the wrong type, or a row holds no image or one that does not decode
/// (not an image, truncated): a <see cref="BadInputException"/> naming the row and its file, one row per error, so that a
/// dead-letter split can isolate it. Transparent pixels come out as black (alpha is dropped after premultiplying).
/// </summary>
public sealed class ImagePreprocessProcessor : IBatchProcessor
{
    /// <summary>The column whose value names a row's file in errors when present (the <c>images</c> read format's).</summary>
    public const string PathColumn = "path";

    private readonly ImagePreprocessOptions _options;

    public ImagePreprocessProcessor(ImagePreprocessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var source = ImageSource.Of(batch, _options);
        var size = _options.Size;
        var writer = new PixelWriter(_options, batch.Length);
        for (var i = 0; i < batch.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var encoded = await source.ReadAsync(i, cancellationToken).ConfigureAwait(false);
            byte[] rgb;
            try
            {
                rgb = ImageDecoder.DecodeSquare(encoded, size, _options.Resize);
            }
            catch (ImageDecodeException e)
            {
                throw new BadInputException($"image_preprocess: row {i} ({source.Describe(i)}): {e.Message}", e);
            }
            writer.Write(i, rgb);
        }
        var (field, array) = writer.Build();
        var result = ArrowBatches.WithColumn(batch, field, array);
        return _options.PathColumn is null && !_options.KeepEncoded && _options.Column != _options.Output
            ? ArrowBatches.WithoutColumns(result, [_options.Column])
            : result;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
