namespace Sluice.IO.ObjectStorage;

/// <summary>An object could not be read: the message names the URL (never credentials) and what went wrong.</summary>
public sealed class ObjectFileException : SluiceException
{
    public ObjectFileException() { }

    public ObjectFileException(string message) : base(message) { }

    public ObjectFileException(string message, Exception inner) : base(message, inner) { }
}
