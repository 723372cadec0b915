using Apache.Arrow;
using Sluice.Files;

namespace Sluice.Inference.Images;

/// <summary>Where a batch's encoded images come from: a binary column, or files named by a string column.</summary>
internal sealed class ImageSource
{
    private readonly BinaryArray? _bytes;
    private readonly StringArray? _paths;
    private readonly string? _root;
    private readonly string _column;
    private string? _realRoot;

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
        try
        {
            if (_root is null) return await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false);
            var real = Confined(row, path, full);
            using var file = new FileStream(real, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous);
            CheckOpened(row, path, file, real);
            using var bytes = new MemoryStream(file.CanSeek ? (int)Math.Min(file.Length, System.Array.MaxLength) : 0);
            await file.CopyToAsync(bytes, cancellationToken).ConfigureAwait(false);
            return bytes.Length == bytes.Capacity ? bytes.GetBuffer() : bytes.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"image_preprocess: row {row}: cannot read image file '{full}' ({e.Message}) named in column '{_column}'{(_root is null ? " (relative paths are under the working directory; set root)" : $" under root '{_root}'")}", e);
        }
    }

    /// <summary>
    /// Where a path from the data leads under the root, as the file system resolves it: it must stay there, neither by
    /// text (an absolute path, <c>..</c> out of it) nor by a symbolic link inside the root that points out of it.
    /// </summary>
    private string Confined(int row, string path, string full)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(_root!));
        if (!Under(Path.GetFullPath(full), root))
            throw new BadInputException($"image_preprocess: row {row}: image path '{path}' in column '{_column}' leads outside root '{_root}'; give paths relative to the root, without '..' out of it");
        // The root itself may be a link (a mounted volume): what a path must stay under is where the root really is.
        _realRoot ??= RealPath.Resolve(root);
        var real = RealPath.Resolve(full);
        if (!Under(real, _realRoot))
            throw new BadInputException($"image_preprocess: row {row}: image path '{path}' in column '{_column}' leads outside root '{_root}' through a symbolic link (it resolves to '{real}', outside '{_realRoot}'); give paths of files that lie under the root, with no link out of it");
        return real;
    }

    /// <summary>
    /// The file opened is the one checked: a link swapped in between <see cref="Confined"/> and the open is caught before a
    /// byte is read (Linux names an open file's real path at /proc/self/fd/N; elsewhere the check before the open stands alone).
    /// </summary>
    private static void CheckOpened(int row, string path, FileStream file, string real)
    {
        if (!ProcFd) return;
        var opened = File.ResolveLinkTarget($"/proc/self/fd/{file.SafeFileHandle.DangerousGetHandle()}", returnFinalTarget: false)?.FullName;
        if (opened is not null && opened != real)
            throw new BadInputException($"image_preprocess: row {row}: image path '{path}' changed while it was opened (checked as '{real}', opened '{opened}'); a file under root must not be replaced by a link while the job reads it");
    }

    private static readonly bool ProcFd = OperatingSystem.IsLinux() && Directory.Exists("/proc/self/fd");

    private static bool Under(string path, string dir) =>
        path.StartsWith(dir.EndsWith(Path.DirectorySeparatorChar) ? dir : dir + Path.DirectorySeparatorChar, StringComparison.Ordinal);

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
