using Sluice.Contracts;

namespace Sluice.IO;

/// <summary>How image files are read: one row per file (<c>path</c>, <c>size</c>, <c>width</c>, <c>height</c>, <c>image</c>).</summary>
public sealed record ImagesOptions : IValidatedOptions
{
    /// <summary>The default <see cref="FilesPerTask"/>.</summary>
    public const int DefaultFilesPerTask = 64;

    /// <summary>
    /// Files per read task. A photo is one small file, so one task per file would make a block per image; 64 JPEGs of
    /// ~100 KiB–1 MiB make a task of a few MiB, about a block. Changing it changes the read task ids: a resume must keep it.
    /// </summary>
    public int FilesPerTask { get; init; } = DefaultFilesPerTask;

    public IEnumerable<OptionError> Problems()
    {
        if (FilesPerTask < 1) yield return new(nameof(FilesPerTask), FilesPerTask.ToString(System.Globalization.CultureInfo.InvariantCulture), "give 1 or more files per read task");
    }

    internal void Validate()
    {
        var errors = Problems().Select(p => $"{nameof(ImagesOptions)}.{p}").ToList();
        if (errors.Count > 0) throw new SluiceException(string.Join("; ", errors));
    }
}
