//! One person's export and erasure (privacy.md §1): `GET privacy/export/`,
//! `POST privacy/erase/`, and the same for trusted frontends (the CLI, the staff site)
//! that authorised their caller themselves.

use super::{Exit3, RequestContext};
use crate::{
    access::Operation,
    domain::Actor,
    error::Error,
    events::Event,
    input::Payload,
    privacy::{Erased, Person, PersonData},
};

impl Exit3 {
    /// `GET privacy/export/?email=E` (admin): everything stored about the person; an
    /// unknown address answers empty lists.
    pub async fn export_person(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<(Person, PersonData), Error> {
        self.admit(ctx, Operation::ExportPerson).await?;
        let person = Person::parse(payload)?;
        let data = self.person_data(&person).await?;
        Ok((person, data))
    }

    /// `POST privacy/erase/ {"email"}` (admin): erases the person everywhere, in one
    /// store call; an unknown address answers zeros.
    pub async fn erase_person(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<Erased, Error> {
        let caller = self.admit(ctx, Operation::ErasePerson).await?;
        let person = Person::parse(payload)?;
        self.erase_as(&person, &caller.actor()).await
    }

    /// The export of `person`, for a frontend that authorised its caller itself.
    pub async fn person_data(&self, person: &Person) -> Result<PersonData, Error> {
        Ok(self.inner.store.person_data(person).await?)
    }

    /// The erasure of `person`, for a frontend that authorised its caller itself (the
    /// command line: the history says `system`): one store call that also fans out
    /// `person.erased`.
    pub async fn erase(&self, person: &Person) -> Result<Erased, Error> {
        self.erase_as(person, &Actor::System).await
    }

    async fn erase_as(&self, person: &Person, actor: &Actor) -> Result<Erased, Error> {
        let now = self.now();
        let event = Event::person_erased(person, now);
        Ok(self
            .inner
            .store
            .erase_person(person, &event, actor, now)
            .await?)
    }
}
