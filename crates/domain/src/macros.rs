//! The trait boilerplate every aggregate shares, written once. Each aggregate file keeps what
//! differs: its `decide` (command → events) and `evolve` (event → state).

/// Implements `cqrs_es::DomainEvent` for an event enum: the stored event type is the variant's
/// name (the contract's event names), the version is [`crate::event::CURRENT_EVENT_VERSION`].
macro_rules! domain_event {
    ($event:ty { $($variant:ident),+ $(,)? }) => {
        impl cqrs_es::DomainEvent for $event {
            fn event_type(&self) -> String {
                match self {
                    $(Self::$variant { .. } => stringify!($variant),)+
                }
                .to_string()
            }

            fn event_version(&self) -> String {
                $crate::event::CURRENT_EVENT_VERSION.to_string()
            }
        }
    };
}

/// Implements `cqrs_es::Aggregate` (type name = the struct's name, no services) for a type with
/// inherent `decide(&self, command) -> Result<I, Error>` (`I` iterates the events to write, e.g.
/// `Option` or `Vec`) and `evolve(&mut self, event)`. Events are written in order, each applied
/// before the next, exactly as a hand-written `handle` would.
macro_rules! aggregate {
    ($aggregate:ident: $command:ty => $event:ty, $error:ty) => {
        impl cqrs_es::Aggregate for $aggregate {
            const TYPE: &'static str = stringify!($aggregate);
            type Command = $command;
            type Event = $event;
            type Error = $error;
            type Services = ();

            async fn handle(
                &mut self,
                command: Self::Command,
                _services: &Self::Services,
                sink: &cqrs_es::event_sink::EventSink<Self>,
            ) -> Result<(), Self::Error> {
                for event in IntoIterator::into_iter(self.decide(command)?) {
                    sink.write(event, self).await;
                }
                Ok(())
            }

            fn apply(&mut self, event: Self::Event) {
                self.evolve(event)
            }
        }
    };
}
