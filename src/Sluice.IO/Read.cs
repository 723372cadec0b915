using Sluice.Plan;

namespace Sluice.IO;

/// <summary>Datasets over files: <c>Read.Parquet("data/*.parquet")</c>. See <see cref="Sources"/> for paths and read tasks.</summary>
public static class Read
{
    public static Dataset Parquet(string path, ReadOptions? o = null) => Dataset.Read(Sources.Parquet(path), o);

    public static Dataset Csv(string path, CsvOptions? csv = null, ReadOptions? o = null) => Dataset.Read(Sources.Csv(path, csv), o);

    public static Dataset JsonLines(string path, ReadOptions? o = null) => Dataset.Read(Sources.JsonLines(path), o);

    public static Dataset Text(string path, bool skipEmpty = false, ReadOptions? o = null) => Dataset.Read(Sources.Text(path, skipEmpty), o);

    /// <summary>Image files: one row per file (path, size, width, height, image); see <see cref="Sources.Images"/>.</summary>
    public static Dataset Images(string path, ImagesOptions? images = null, ReadOptions? o = null) => Dataset.Read(Sources.Images(path, images), o);
}
