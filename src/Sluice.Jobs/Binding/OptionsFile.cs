using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs.Binding;

/// <summary>
/// A YAML file that holds one options record (e.g. the autoscaler's, <c>sluice run --autoscale FILE</c>), bound like a job
/// spec's sections: snake_case fields, sizes as <c>2GiB</c>, durations as <c>30s</c>, the record's own defaults and checks.
/// </summary>
public static class OptionsFile
{
    /// <param name="file">The file's path.</param>
    /// <param name="what">What the file is, for messages: <c>the autoscale file</c>.</param>
    /// <exception cref="SpecException">Every problem, each naming the file, the line, the field and what is accepted.</exception>
    public static T Load<T>(string file, string what)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!File.Exists(file)) throw new SluiceException($"{what} '{file}' does not exist; give the path of a YAML file");
        var stream = new YamlStream();
        var context = new SpecContext(file, new JobRegistry(), null);
        try
        {
            stream.Load(new StringReader(File.ReadAllText(file)));
        }
        catch (YamlException e)
        {
            throw new SpecException([new SpecError("(the file)", null, $"not valid YAML: {e.InnerException?.Message ?? e.Message}", new SpecLocation(file, (int)e.Start.Line))], $"{what} '{file}'");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new SpecException([new SpecError("(the file)", null, $"give a mapping of {string.Join(", ", OptionField.Of(typeof(T)).Select(f => f.Name))}", new SpecLocation(file, null))], $"{what} '{file}'");
        var bound = OptionsBinder.Bind<T>(context, root, "");
        // A list item's problems are reported by the item and again by the record that holds the list: once is enough.
        if (context.Errors.Count > 0) throw new SpecException([.. context.Errors.DistinctBy(e => (e.Field, e.Value, e.Accepted))], $"{what} '{file}'");
        return bound!;
    }
}
