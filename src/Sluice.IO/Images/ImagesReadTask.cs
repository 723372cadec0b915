using System.Runtime.CompilerServices;
using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.IO.Images;

/// <summary>A run of image files in sorted order; id the file alone, or <c>first .. last (N files)</c>.</summary>
internal sealed class ImagesReadTask(IReadOnlyList<string> files) : ReadTask
{
    public override string Id => files.Count == 1 ? files[0] : $"{files[0]} .. {files[^1]} ({files.Count} files)";

    public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockRows, 1);
        for (var start = 0; start < files.Count; start += blockRows)
        {
            var count = Math.Min(blockRows, files.Count - start);
            var paths = new StringArray.Builder();
            var sizes = new Int64Array.Builder();
            var widths = new Int32Array.Builder();
            var heights = new Int32Array.Builder();
            var images = new BinaryArray.Builder();
            for (var i = start; i < start + count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var bytes = await ReadFileAsync(files[i], cancellationToken).ConfigureAwait(false);
                var (width, height) = ImageHeader.Dimensions(bytes, files[i]);
                paths.Append(files[i]);
                sizes.Append(bytes.Length);
                widths.Append(width);
                heights.Append(height);
                images.Append(bytes.AsSpan());
            }
            yield return new RecordBatch(ImagesDatasource.ImagesSchema, [paths.Build(), sizes.Build(), widths.Build(), heights.Build(), images.Build()], count);
        }
    }

    private static async Task<byte[]> ReadFileAsync(string file, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"cannot read image file '{file}' ({e.Message})", e);
        }
    }
}
