using Sluice.Contracts;
using Sluice.IO.Csv;
using Sluice.IO.JsonLines;
using Sluice.IO.Parquet;
using Sluice.IO.Text;

namespace Sluice.IO;

/// <summary>
/// File datasources. Each takes a file, a directory (its files, sorted; names starting with '_' or
/// '.' are skipped) or a glob with wildcards in the file-name part (<c>data/docs/*.txt</c>), after a <c>**</c>
/// directory to reach into subdirectories (<c>photos/**/*.jpg</c>). Missing
/// inputs fail in <see cref="Datasource.PlanAsync"/> with a <see cref="BadInputException"/>.
/// </summary>
public static class Sources
{
    /// <summary>Parquet: one read task per (file, row group), id <c>path#rgN</c>.</summary>
    public static Datasource Parquet(string path) => new ParquetDatasource(path);

    /// <summary>CSV with a header row: one read task per file, never split (a quoted field may hold line breaks). Throws <see cref="SluiceException"/> for an unknown declared column type.</summary>
    public static Datasource Csv(string path, CsvOptions? options = null) => new CsvDatasource(path, options ?? new CsvOptions());

    /// <summary>JSON Lines (one object per line, blank lines skipped): one read task per file, or per line-aligned byte range of a file over <see cref="JsonLinesOptions.SplitBytes"/>.</summary>
    public static Datasource JsonLines(string path) => new JsonLinesDatasource(path, new JsonLinesOptions());

    /// <summary>JSON Lines with options (what to do with bytes that are not UTF-8).</summary>
    public static Datasource JsonLines(string path, JsonLinesOptions options) => new JsonLinesDatasource(path, options);

    /// <summary>OpenAI Batch API input files (requests as rows: custom_id, url, model, body, text); split like JSON Lines.</summary>
    public static Datasource OpenAiBatch(string path, OpenAiBatchOptions? options = null) => new OpenAiBatch.OpenAiBatchDatasource(path, options ?? new OpenAiBatchOptions());

    /// <summary>Text: one row per line in a string column <c>text</c>; one read task per file, or per line-aligned byte range of a file over <see cref="TextOptions.SplitBytes"/>.</summary>
    public static Datasource Text(string path, bool skipEmpty = false) => new TextDatasource(path, new TextOptions { SkipEmpty = skipEmpty });

    /// <summary>Text with options (empty lines, bytes that are not UTF-8).</summary>
    public static Datasource Text(string path, TextOptions options) => new TextDatasource(path, options);

    /// <summary>
    /// Image files (JPEG, PNG, WebP …; <c>photos/**/*.jpg</c> reaches into subdirectories): one row per file with <c>path</c>,
    /// <c>size</c>, <c>width</c>, <c>height</c> (from the header) and <c>image</c> (the encoded bytes, decoded by an
    /// image_preprocess stage). A file that is not an image fails the read with a <see cref="BadInputException"/> naming it.
    /// </summary>
    public static Datasource Images(string path, ImagesOptions? options = null) => new Images.ImagesDatasource(path, options ?? new ImagesOptions());

    /// <summary>
    /// A dataset in object storage (<c>s3://bucket/prefix</c>, <c>s3://bucket/prefix/*.ext</c>, <c>s3://bucket/key</c> or an
    /// <c>https://</c> file), read object by object with <paramref name="local"/>, the format's reader for a local file.
    /// Credentials and the endpoint come from the environment (<see cref="ObjectStorage.ObjectFileOptions"/>).
    /// </summary>
    public static Datasource Remote(string url, string format, Func<string, Datasource> local, ObjectStorage.ObjectFileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (ObjectStorage.DatasetPaths.ReadReason(url) is { } reason) throw new BadInputException($"read.path '{ObjectStorage.DatasetPaths.WithoutCredentials(url)}': {reason}");
        return new ObjectStorage.RemoteDatasource(url, format, local, options ?? new ObjectStorage.ObjectFileOptions());
    }
}
