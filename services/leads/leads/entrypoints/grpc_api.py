"""The leads gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import grpc

from leads import bootstrap
from leads.adapters import protomap
from leads.adapters.timeline_sources import RemoteSources
from leads.entrypoints import export_columns, reports_api, requests, responses
from leads.service_layer import (
    campaigns,
    capture,
    conversion,
    customer_import,
    customers,
    exports,
    lead_import,
    lead_settings,
    pool,
    qualification,
    timeline,
)
from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
from shangji_kit import auth, log, names, table_import
from shangji_kit.rpc import export as export_rpc
from shangji_kit.rpc import server
from shangji_kit.rpc.client import bearer_token
from shangji_kit.settings import Settings


class LeadsApi(leads_pb2_grpc.LeadsServiceServicer):
    def __init__(self, uow_factory, clock: Callable[[], datetime] = bootstrap.clock) -> None:
        self.uow = uow_factory
        self.clock = clock

    def CreateLead(self, request, context):
        lead = request.lead
        cmd = capture.CreateLead(company=lead.company, contact_name=lead.contact_name, phone=lead.phone,
                                  email=lead.email, region=lead.region, source=lead.source, owner=lead.owner,
                                  request_id=request.request_id, industry=lead.industry, to_pool=request.to_pool,
                                  contact_title=lead.contact_title, company_size=lead.company_size, notes=lead.notes,
                                  campaign=lead.campaign, flags=tuple(lead.flags))
        captured = capture.create_lead(cmd, auth.principal().user_id, self.uow(), self.clock())
        if captured.ask:
            context.set_trailing_metadata(responses.conflict_metadata(captured.ask))
        return responses.captured_to_proto(captured)

    def GetLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_to_proto(capture.get_lead(lead_id, auth.principal().user_id, self.uow()))

    def ListLeads(self, request, context):
        page = capture.list_leads(auth.principal().user_id, request.page_size, request.page_token, self.uow(),
                                   in_pool=request.in_pool, filter_text=request.filter, order_by=request.order_by)
        return responses.page_to_proto(page)

    def ExportLeads(self, request, context):
        fmt = export_rpc.export_format(request.format)
        source = exports.export_leads(auth.principal().user_id, self.uow(), in_pool=request.in_pool,
                                      filter_text=request.filter, order_by=request.order_by)
        yield from export_rpc.stream(leads_pb2.ExportChunk, export_columns.LEAD_COLUMNS, source, fmt,
                                     "leads-pool" if request.in_pool else "leads", self.clock())

    def ExportCustomers(self, request, context):
        fmt = export_rpc.export_format(request.format)
        source = exports.export_customers(auth.principal().user_id, self.uow(), filter_text=request.filter,
                                          order_by=request.order_by)
        yield from export_rpc.stream(leads_pb2.ExportChunk, export_columns.CUSTOMER_COLUMNS, source, fmt,
                                     "customers", self.clock())

    def ConvertLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        cmd = conversion.ConvertLead(lead_id=lead_id, etag=request.etag, opportunity_title=request.opportunity_title,
                                   customer=request.customer, without_opportunity=request.without_opportunity,
                                   force=request.force, product_lines=tuple(request.product_lines))
        lead = conversion.convert_lead(cmd, auth.principal().user_id, self.uow(), self.clock())
        return protomap.lead_to_proto(lead)

    def ClaimLeads(self, request, context):
        lead_ids = requests.lead_ids(list(request.names))
        leads = pool.claim_leads(lead_ids, auth.principal().user_id, self.uow(), self.clock())
        return protomap.claim_response(leads)

    def ReturnLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_to_proto(pool.return_lead(lead_id, request.reason, auth.principal().user_id, self.uow(),
                                                       self.clock()))

    def AssignLeads(self, request, context):
        lead_ids = requests.lead_ids(list(request.names))
        leads = pool.assign_leads(lead_ids, request.assignee, auth.principal().user_id, self.uow(),
                                  self.clock(), reason=request.reason)
        return protomap.assign_response(leads)

    def AutoAssignLead(self, request, context):
        return protomap.lead_to_proto(pool.auto_assign_lead(request.name, auth.principal().user_id, self.uow(),
                                                            self.clock()))

    def ListFollowUps(self, request, context):
        page = pool.list_follow_ups(names.parse(request.parent, "leads", "parent"), auth.principal().user_id,
                                    request.page_size, request.page_token, self.uow())
        return leads_pb2.ListFollowUpsResponse(follow_ups=[protomap.follow_up_to_proto(f) for f in page.items],
                                               next_page_token=page.next_page_token)

    def ListLeadAssignments(self, request, context):
        page = pool.list_assignments(names.parse(request.parent, "leads", "parent"), auth.principal().user_id,
                                     request.page_size, request.page_token, self.uow())
        return leads_pb2.ListLeadAssignmentsResponse(
            assignments=[protomap.assignment_to_proto(a) for a in page.items], next_page_token=page.next_page_token)

    def AddFollowUp(self, request, context):
        lead_id = names.parse(request.name, "leads")
        follow_up = pool.add_follow_up(lead_id, requests.follow_up_kind(request.kind), request.note,
                                       auth.principal().user_id, self.uow(), self.clock())
        return protomap.follow_up_to_proto(follow_up)

    def ImportLeads(self, request_iterator, context):
        header, rows = table_import.read_stream(request_iterator)
        cmd = lead_import.ImportLeads(rows=rows, **requests.import_header(header))
        report = lead_import.import_leads(cmd, auth.principal().user_id, self.uow(), now=self.clock())
        return protomap.import_report_to_proto(report)

    def ImportCustomers(self, request_iterator, context):
        header, rows = table_import.read_stream(request_iterator)
        cmd = customer_import.ImportCustomers(rows=rows, **requests.customer_import_header(header))
        report = customer_import.import_customers(cmd, auth.principal().user_id, self.uow(), now=self.clock())
        return protomap.customers_import_report_to_proto(report)

    def UpdateLead(self, request, context):
        lead_id = names.parse(request.lead.name, "leads", "lead.name")
        cmd = qualification.UpdateLead(lead_id=lead_id, update_mask=tuple(request.update_mask.paths),
                                       values=requests.lead_values(request.lead), etag=request.etag)
        return protomap.lead_to_proto(qualification.update_lead(cmd, auth.principal().user_id, self.uow(),
                                                                                self.clock()))

    def RecordLeadBehaviour(self, request, context):
        lead_id = names.parse(request.name, "leads")
        occur_time = requests.occur_time(request)
        cmd = qualification.RecordBehaviour(lead_id=lead_id, kind=request.type, occur_time=occur_time,
                                            request_id=request.request_id)
        return protomap.lead_to_proto(qualification.record_behaviour(cmd, auth.principal().user_id, self.uow(),
                                                                                     self.clock()))

    def GetLeadScore(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_score_to_proto(qualification.get_lead_score(lead_id, auth.principal().user_id,
                                                                         self.uow()))

    def GetLeadSettings(self, request, context):
        return protomap.settings_to_proto(lead_settings.get_settings(auth.principal().user_id, self.uow()))

    def UpdateLeadSettings(self, request, context):
        settings = lead_settings.update_settings(requests.settings_from_proto(request.settings),
                                                 tuple(request.update_mask.paths), request.etag,
                                                 auth.principal().user_id, self.uow())
        return protomap.settings_to_proto(settings)

    def SetRepAway(self, request, context):
        user_id, away = pool.set_rep_away(request.user, request.away, auth.principal().user_id, self.uow())
        return leads_pb2.RepStatus(user=names.format("users", user_id), away=away)

    def CreateCustomer(self, request, context):
        cmd = customers.CreateCustomer(values=requests.customer_values(request.customer), owner=request.customer.owner,
                                      request_id=request.request_id)
        return responses.customer_view_to_proto(customers.create_customer(cmd, auth.principal().user_id, self.uow(),
                                                                                      self.clock()))

    def GetCustomer(self, request, context):
        customer_id = names.parse(request.name, "customers")
        return responses.customer_view_to_proto(customers.get_customer(customer_id, auth.principal().user_id,
                                                                     self.uow()))

    def GetCustomerTimeline(self, request, context):
        customer_id = names.parse(request.customer, "customers", "customer")
        # The other services are asked with the caller's own token: each shows the caller only what they may open.
        sources = RemoteSources(bearer_token(context), log.correlation_id.get())
        return responses.timeline_to_proto(timeline.get_customer_timeline(
            customer_id, auth.principal().user_id, request.page_size, request.page_token, self.uow(), sources))

    def ListCustomers(self, request, context):
        return responses.customers_page(customers.list_customers(
            auth.principal().user_id, request.page_size, request.page_token, self.uow(), request.filter,
            request.order_by))

    def UpdateCustomer(self, request, context):
        customer_id = names.parse(request.customer.name, "customers", "customer.name")
        cmd = customers.UpdateCustomer(customer_id=customer_id, values=requests.customer_values(request.customer),
                                      update_mask=tuple(request.update_mask.paths), etag=request.etag)
        return responses.customer_view_to_proto(customers.update_customer(cmd, auth.principal().user_id, self.uow(),
                                                                                      self.clock()))

    def CreateContact(self, request, context):
        customer_id = names.parse(request.parent, "customers", "parent")
        cmd = customers.CreateContact(customer_id=customer_id, values=requests.contact_values(request.contact),
                                     request_id=request.request_id)
        return protomap.contact_to_proto(customers.create_contact(cmd, auth.principal().user_id, self.uow(),
                                                                            self.clock()))

    def ListContacts(self, request, context):
        customer_id = names.parse(request.parent, "customers", "parent")
        return responses.contacts_page(customers.list_contacts(customer_id, auth.principal().user_id,
                                                             request.page_size, request.page_token, self.uow()))

    def UpdateContact(self, request, context):
        contact_id = names.parse(request.contact.name, "contacts", "contact.name")
        cmd = customers.UpdateContact(contact_id=contact_id, values=requests.contact_values(request.contact),
                                     update_mask=tuple(request.update_mask.paths), etag=request.etag)
        return protomap.contact_to_proto(customers.update_contact(cmd, auth.principal().user_id, self.uow(),
                                                                            self.clock()))

    def CreateCampaign(self, request, context):
        campaign = campaigns.create_campaign(requests.campaign_values(request.campaign), request.request_id,
                                             auth.principal().user_id, self.uow(), self.clock())
        return protomap.campaign_to_proto(campaign)

    def GetCampaign(self, request, context):
        campaign_id = names.parse(request.name, "campaigns")
        return protomap.campaign_to_proto(campaigns.get_campaign(campaign_id, auth.principal().user_id,
                                                                     self.uow()))

    def ListCampaigns(self, request, context):
        page, token = campaigns.list_campaigns(auth.principal().user_id, request.page_size, request.page_token,
                                                   self.uow())
        return leads_pb2.ListCampaignsResponse(campaigns=[protomap.campaign_to_proto(c) for c in page],
                                               next_page_token=token)

    def UpdateCampaign(self, request, context):
        campaign = campaigns.update_campaign(request.campaign.name, requests.campaign_values(request.campaign),
                                             tuple(request.update_mask.paths), request.etag,
                                             auth.principal().user_id, self.uow(), self.clock())
        return protomap.campaign_to_proto(campaign)

    def GetSourceReport(self, request, context):
        return protomap.report_to_proto(*campaigns.source_report(auth.principal().user_id, self.uow()))


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    api = LeadsApi(bootstrap.uow_factory(settings, cached=True))
    leads_pb2_grpc.add_LeadsServiceServicer_to_server(api, grpc_server)
    return ["shangji.leads.v1.LeadsService", *reports_api.register(grpc_server, settings)]


if __name__ == "__main__":
    server.main("leads", register)
