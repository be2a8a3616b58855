package io.raftkv.protocol;

/**
 * One change a watch reports (etcd's mvccpb.Event): a PUT carries the key as the put left it; a DELETE carries the
 * key with the delete's revision as {@code modRevision} (other revisions and version 0, empty value).
 * {@code prevKv}: the key before the change, when the watch asked for it and it existed; else null.
 */
public record WatchEvent(Type type, KeyValue kv, KeyValue prevKv) {

    public enum Type {
        PUT(0), DELETE(1);

        public final int code;

        Type(int code) {
            this.code = code;
        }

        public static Type ofCode(int code) {
            return switch (code) {
                case 0 -> PUT;
                case 1 -> DELETE;
                default -> throw Frames.bad("unknown watch event type " + code);
            };
        }
    }

    /** The revision of the change. */
    public long revision() {
        return kv.modRevision();
    }

    public WatchEvent withoutPrevKv() {
        return prevKv == null ? this : new WatchEvent(type, kv, null);
    }
}
