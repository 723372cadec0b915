using Apache.Arrow;

namespace Sluice.Inference.Images;

/// <summary>Where a batch's encoded images come from: a binary column, or files named by a string column.</summary>
internal sealed class ImageSource
{
    private readonly BinaryArray? _bytes;
    private readonly StringArray? _paths;
    private readonly string? _root;
    private readonly string _column;

    private ImageSource(BinaryArray? bytes, StringArray? paths, string? root, string column)
    {
        _bytes = bytes;
        _paths = paths;
        _root = root;
        _column = column;
    }

    public static ImageSource Of(RecordBatch batch, ImagePreprocessOptions options)
    {
        if (options.PathColumn is { } pathColumn)
        {
            var paths = Column(batch, pathColumn, nameof(ImagePreprocessOptions.PathColumn)) as StringArray
                ?? throw new BadInputException($"path column '{pathColumn}' is {Type(batch, pathColumn)}, not a string column of image paths (ImagePreprocessOptions.PathColumn); the batch has: {Columns.Describe(batch)}");
            return new ImageSource(null, paths, options.Root, pathColumn);
        }
        var bytes = Column(batch, options.Column, nameof(ImagePreprocessOptions.Column)) as BinaryArray
            ?? throw new BadInputException($"image column '{options.Column}' is {Type(batch, options.Column)}, not a binary column of encoded images (ImagePreprocessOptions.Column; read images with format: images, or give path_column); the batch has: {Columns.Describe(batch)}");
        var named = batch.Schema.GetFieldIndex(ImagePreprocessProcessor.PathColumn) is >= 0 and var p ? batch.Column(p) as StringArray : null;
        return new ImageSource(bytes, named, null, options.Column);
    }

    /// <summary>Row <paramref name="row"/>'s encoded image.</summary>
    public async ValueTask<byte[]> ReadAsync(int row, CancellationToken cancellationToken)
    {
        if (_bytes is not null)
        {
            if (_bytes.IsNull(row)) throw new BadInputException($"image_preprocess: row {row} ({Describe(row)}) has no image (null in column '{_column}')");
            // A copy: SkiaSharp's codec reads a managed stream, which wants an array.
            return _bytes.GetBytes(row).ToArray();
        }
        var path = _paths!.GetString(row);
        if (string.IsNullOrEmpty(path)) throw new BadInputException($"image_preprocess: row {row} has no image path (null or empty in column '{_column}')");
        var full = _root is null ? path : Path.Combine(_root, path);
        // A path comes from the data: under a root it must stay there (no absolute path, no '..' out of it).
        if (_root is not null && !Path.GetFullPath(full).StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(_root)) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new BadInputException($"image_preprocess: row {row}: image path '{path}' in column '{_column}' leads outside root '{_root}'; give paths relative to the root, without '..' out of it");
        try
        {
            return await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"image_preprocess: row {row}: cannot read image file '{full}' ({e.Message}) named in column '{_column}'{(_root is null ? " (relative paths are under the working directory; set root)" : $" under root '{_root}'")}", e);
        }
    }

    /// <summary>The row's file, for errors: its path when the batch names one.</summary>
    public string Describe(int row)
    {
        if (_paths?.GetString(row) is { Length: > 0 } path) return $"'{(_root is null ? path : Path.Combine(_root, path))}'";
        return "no path column to name its file";
    }

    private static IArrowArray Column(RecordBatch batch, string name, string option)
    {
        var index = batch.Schema.GetFieldIndex(name);
        return index < 0
            ? throw new BadInputException($"column '{name}' is missing (ImagePreprocessOptions.{option}); the batch has: {Columns.Describe(batch)}")
            : batch.Column(index);
    }

    private static string Type(RecordBatch batch, string name) => batch.Schema.GetFieldByIndex(batch.Schema.GetFieldIndex(name)).DataType.Name;
}
